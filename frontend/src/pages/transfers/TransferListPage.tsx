export function TransferListPage() {
  return (
    <section>
      <h1>Transfers</h1>
      <p>Coming soon.</p>
    </section>
  );
}
