export function SeedExamplePage() {
  return (
    <section>
      <h1>Assigned workflows</h1>
      <p>Coming soon.</p>
    </section>
  );
}
