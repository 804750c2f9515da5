export function TransferDetailPage() {
  return (
    <section>
      <h1>Transfer</h1>
      <p>Coming soon.</p>
    </section>
  );
}
