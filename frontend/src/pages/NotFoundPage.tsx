import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <section>
      <h1>Not found</h1>
      <p>There is no page at this address.</p>
      <Link to="/inbox">Go to your inbox</Link>
    </section>
  );
}
