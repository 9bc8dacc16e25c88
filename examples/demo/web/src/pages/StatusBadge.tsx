import type { Order } from '../api';

export function StatusBadge({ status }: { status: Order['status'] }) {
  return <span className={`status ${status}`}>{status}</span>;
}
