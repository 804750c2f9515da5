export function TransferNewPage() {
  return (
    <section>
      <h1>New transfer</h1>
      <p>Coming soon.</p>
    </section>
  );
}
