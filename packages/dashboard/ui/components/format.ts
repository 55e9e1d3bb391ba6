// Plain-text formatting of times, durations and sizes. Everything returns strings that JSX renders
// as text nodes, never as markup.
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1_000).toFixed(abs < 10_000 ? 1 : 0)} s`;
  if (abs < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.floor((abs % 60_000) / 1_000)} s`;
  if (abs < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ${Math.floor((abs % 3_600_000) / 60_000)} min`;
  return `${Math.floor(ms / 86_400_000)} d ${Math.floor((abs % 86_400_000) / 3_600_000)} h`;
}

export function ago(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '—';
  const d = now - at;
  return d >= 0 ? `${duration(d)} ago` : `in ${duration(-d)}`;
}

export function time(at: number | null | undefined): string {
  if (at === null || at === undefined) return '—';
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Shortens long ids for tables; the full id stays in the title and the link. */
export function short(id: string, keep = 12): string {
  if (id.length <= keep) return id;
  // Baton's ids are UUID v7: they start with their creation time, which tasks made together
  // share, so their random end is what tells two rows apart.
  if (UUID.test(id)) return `…${id.slice(-keep)}`;
  return `${id.slice(0, keep)}…`;
}
