/**
 * Which host origins an embed frame serves: its own, plus those the site lists in
 * `jupyter-lite.json` under `jupyter-config-data.litebridge.embedOrigins`.
 *
 * Pure functions, tested in node (`js/test/embedOrigins.test.ts`).
 *
 * @packageDocumentation
 */

/** The allowed host origins of a site. */
export interface OriginPolicy {
  /** The frame's own origin: always allowed. */
  own: string;
  /** Further allowed origins, exactly as `URL.origin` spells them. */
  listed: ReadonlySet<string>;
  /** True only when the site wrote `"*"` in `embedOrigins`: any origin is served. */
  any: boolean;
}

/**
 * Read `embedOrigins` from the site's litebridge settings.
 *
 * @param settings - The value of `jupyter-config-data.litebridge` (any JSON, or undefined).
 * @param own - The frame's own origin (`location.origin`).
 * @returns The policy, and a message per entry that was ignored (not an origin: a path, a
 *   trailing slash, a non-string...), so that the caller can log them.
 */
export function readOriginPolicy(settings: unknown, own: string): { policy: OriginPolicy; problems: string[] } {
  const listed = new Set<string>();
  const problems: string[] = [];
  let any = false;
  const raw: unknown =
    settings !== null && typeof settings === 'object' ? (settings as Record<string, unknown>).embedOrigins : undefined;
  if (raw !== undefined && !Array.isArray(raw)) {
    problems.push(`embedOrigins must be a list of origins, got ${typeof raw}: ignored`);
  }
  for (const entry of Array.isArray(raw) ? (raw as unknown[]) : []) {
    if (entry === '*') {
      any = true;
      continue;
    }
    const origin = typeof entry === 'string' ? canonicalOrigin(entry) : null;
    if (origin === null) {
      problems.push(
        `embedOrigins entry ${JSON.stringify(entry)} is not an origin (scheme://host[:port], no path): ignored`
      );
    } else {
      listed.add(origin);
    }
  }
  return { policy: { own, listed, any }, problems };
}

/** `entry` if it is exactly an origin such as `https://example.org` or `http://127.0.0.1:8000`, else null. */
function canonicalOrigin(entry: string): string | null {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return null;
  }
  if (url.origin === 'null' || url.origin !== entry.replace(/\/$/, '') || entry.endsWith('/')) {
    return null;
  }
  return url.origin;
}

/**
 * Whether a message from `origin` may be served.
 *
 * @param policy - From {@link readOriginPolicy}.
 * @param origin - `MessageEvent.origin` of the message.
 */
export function isAllowedOrigin(policy: OriginPolicy, origin: string): boolean {
  if (origin === 'null' || origin === '') {
    return policy.any;
  }
  return origin === policy.own || policy.any || policy.listed.has(origin);
}
