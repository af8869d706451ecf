// Numbers and times as people read them.

/** 12345 → "12,345"; 1234567 → "1.23 M"; null → "—". */
export function count(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  return Math.round(n).toLocaleString('en-US');
}

/** A rate or loss with 3 significant figures: 0.001234 → "0.00123", 5120 → "5,120". */
export function num(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n === 0) return '0';
  if (Math.abs(n) >= 1000) return count(n);
  if (Math.abs(n) < 1e-3) return Number(n.toPrecision(digits)).toExponential();
  return Number(n.toPrecision(digits)).toString();
}

/** Seconds as "3.2 s", "4 min 05 s", "2 h 03 min", "3 d 4 h". */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return '—';
  // A fast bot answers in milliseconds: "0.0 s" would read as no time at all.
  if (s < 1) return `${Math.max(1, Math.round(s * 1000))} ms`;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Unix seconds → "14:03:22" local time; "—" for missing. */
export function clock(unixS: number | null | undefined): string {
  if (unixS === null || unixS === undefined || !Number.isFinite(unixS)) return '—';
  return new Date(unixS * 1000).toLocaleTimeString('en-GB');
}

/** A share in [0, 1] as a percentage: 0.123 → "12%", 0.004 → "0.4%", 0 → "0%". */
export function percent(share: number): string {
  const p = share * 100;
  if (p === 0) return '0%';
  if (p < 1) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

/** A value in [-1, 1] with its sign and two decimals: "+0.25", "-0.50", "+0.00" (never "-0.00"). */
export function signed(v: number): string {
  const text = v.toFixed(2);
  return text === '-0.00' ? '+0.00' : v >= 0 ? `+${text}` : text;
}
