export function CaseDetailPage() {
  return (
    <section>
      <h1>Case</h1>
      <p>Coming soon.</p>
    </section>
  );
}
