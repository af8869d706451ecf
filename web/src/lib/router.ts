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
}

/** Reads a location hash; anything unknown lands on the Play page. */
export function parseHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split('?')[0];
  const [first = '', ...rest] = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const page = PAGES.find((p) => p.name === first)?.name ?? 'play';
  return { page, rest: page === first ? rest : [] };
}

export function hrefFor(page: PageName, ...rest: (string | number)[]): string {
  return `#/${[page, ...rest.map((s) => encodeURIComponent(String(s)))].join('/')}`;
}
