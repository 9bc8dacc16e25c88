export function Loading() {
  return (
    <p className="muted loading" aria-busy="true">
      Loading…
    </p>
  );
}

export function Problem({ error, retry }: { error: Error | string | null; retry?: () => void }) {
  const message = typeof error === 'string' ? error : (error?.message ?? 'Something went wrong.');
  return (
    <div className="error" role="alert">
      <span>{message}</span>
      {retry && (
        <button className="secondary small" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}
