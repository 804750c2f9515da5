export function GroupListPage() {
  return (
    <section>
      <h1>Security groups</h1>
      <p>Coming soon.</p>
    </section>
  );
}
