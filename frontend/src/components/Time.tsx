import { formatDateTime } from "../lib/format";

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span aria-label="never">—</span>;
  return (
    <time dateTime={value} title={value}>
      {formatDateTime(value)}
    </time>
  );
}
