export function WorkflowListPage() {
  return (
    <section>
      <h1>Workflows</h1>
      <p>Coming soon.</p>
    </section>
  );
}
