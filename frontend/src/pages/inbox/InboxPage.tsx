export function InboxPage() {
  return (
    <section>
      <h1>Inbox</h1>
      <p>Coming soon.</p>
    </section>
  );
}
