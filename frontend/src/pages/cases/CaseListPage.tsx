export function CaseListPage() {
  return (
    <section>
      <h1>Cases</h1>
      <p>Coming soon.</p>
    </section>
  );
}
