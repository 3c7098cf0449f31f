import { Link } from "react-router";
import { PageHeader } from "../components/Page";

export function NotFoundPage() {
  return (
    <section className="page">
      <PageHeader title="Page not found" />
      <p>
        There is nothing at this address. <Link to="/sessions">Go to your sessions</Link>.
      </p>
    </section>
  );
}
