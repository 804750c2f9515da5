export function GroupDetailPage() {
  return (
    <section>
      <h1>Security group</h1>
      <p>Coming soon.</p>
    </section>
  );
}
