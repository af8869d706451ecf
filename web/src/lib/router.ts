// Hash routes (`#/play`, `#/replays/42`, ...): the actor serves one index.html for every
// path, and hash routes never reach it, so no server-side routing is needed.

export type PageName = 'play' | 'dashboard' | 'replays' | 'settings';

export const PAGES: readonly { name: PageName; title: string }[] = [
  { name: 'play', title: 'Play' },
  { name: 'dashboard', title: 'Dashboard' },
  { name: 'replays', title: 'Replays' },
  { name: 'settings', title: 'Settings' },
];

export interface Route {
  page: PageName;
  /** Path segments after the page name: `#/replays/42` → `['42']`. */
  rest: string[];
  /** The query after `?`: `#/replays?outcome=draw` → `{ outcome: 'draw' }`. */
  query: Record<string, string>;
}

/** Reads a location hash; anything unknown lands on the Play page. */
export function parseHash(hash: string): Route {
  const [path, search = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const [first = '', ...rest] = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const page = PAGES.find((p) => p.name === first)?.name ?? 'play';
  const query = page === first ? Object.fromEntries(new URLSearchParams(search)) : {};
  return { page, rest: page === first ? rest : [], query };
}

/** `#/page/rest...` plus `?key=value` for each query entry that is not empty. */
export function hrefFor(page: PageName, ...rest: (string | number | Record<string, string | number | undefined>)[]): string {
  const segments = rest.filter((s) => typeof s !== 'object').map((s) => encodeURIComponent(String(s)));
  const query = Object.assign({}, ...rest.filter((s) => typeof s === 'object')) as Record<string, string | number | undefined>;
  const params = new URLSearchParams(
    Object.entries(query)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => [k, String(v)]),
  ).toString();
  return `#/${[page, ...segments].join('/')}${params ? `?${params}` : ''}`;
}
