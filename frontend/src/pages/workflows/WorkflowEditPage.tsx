export function WorkflowEditPage() {
  return (
    <section>
      <h1>Workflow</h1>
      <p>Coming soon.</p>
    </section>
  );
}
