/**
 * A read cache over the artifact store for what is never overwritten: every registry object
 * (version records, alias and directory states, audit entries: all conditional creates, see
 * model-registry.ts) and content-addressed artifacts (their key is their sha256). Listing always
 * goes to S3, so new objects are seen at once; only the bytes of an object already read are reused.
 * The registry itself keeps a cold page cheap (version packs, audit pages read by key); this
 * cache makes the second load of a page cost little more than its listings.
 */
import type { ArtifactRef, ArtifactStore } from '../storage/artifact-store';

const IMMUTABLE_NAMED = /^registry\/.*\d{6}\.json$|^registry\/[^/]+\/audit\/|^registry\/_admin\/audit\/|^registry\/_models\//;
const MAX_ENTRIES = 50_000;
const MAX_BYTES = 128 * 1024 * 1024;
const MAX_ARTIFACT_BYTES = 4 * 1024 * 1024;

/** Insertion-ordered map bounded by count and bytes; a hit moves the entry to the back. */
class Lru {
  private readonly map = new Map<string, Buffer>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  get(key: string): Buffer | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }
  set(key: string, value: Buffer): void {
    const old = this.map.get(key);
    if (old) this.bytes -= old.length;
    this.map.delete(key);
    this.map.set(key, value);
    this.bytes += value.length;
    for (const [k, v] of this.map) {
      if (this.map.size <= MAX_ENTRIES && this.bytes <= MAX_BYTES) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  get size(): number {
    return this.map.size;
  }
}

export interface CachedStore extends ArtifactStore {
  cacheStats(): { entries: number; hits: number; misses: number };
}

export function isImmutableKey(key: string): boolean {
  return IMMUTABLE_NAMED.test(key);
}

export function cachedStore(store: ArtifactStore): CachedStore {
  const cache = new Lru();
  const refKey = (ref: ArtifactRef | string) => (typeof ref === 'string' ? ref : ref.uri);
  const contentAddressed = (uri: string) => /\/artifacts\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(uri);
  const inflight = new Map<string, Promise<Buffer | undefined>>();
  const fetchNamed = (key: string): Promise<Buffer | undefined> => {
    let p = inflight.get(key);
    if (!p) {
      p = store.getNamed(key).then(
        (value) => {
          // A missing object may be created later: only what exists is remembered.
          if (value !== undefined) cache.set(`named:${key}`, value);
          inflight.delete(key);
          return value;
        },
        (err: unknown) => {
          inflight.delete(key);
          throw err;
        },
      );
      inflight.set(key, p);
    }
    return p;
  };
  return {
    ...store,
    async getNamed(key) {
      if (!isImmutableKey(key)) return store.getNamed(key);
      const hit = cache.get(`named:${key}`);
      if (hit) return hit;
      return fetchNamed(key);
    },
    // Listings always go to S3. No read-ahead: the registry reads only what a page shows.
    listNamed: (prefix) => store.listNamed(prefix),
    async getBytes(ref) {
      const uri = refKey(ref);
      if (!contentAddressed(uri)) return store.getBytes(ref);
      const hit = cache.get(`artifact:${uri}`);
      if (hit) return hit;
      const value = await store.getBytes(ref);
      if (value.length <= MAX_ARTIFACT_BYTES) cache.set(`artifact:${uri}`, value);
      return value;
    },
    async getJson<T>(ref: ArtifactRef | string): Promise<T> {
      const uri = refKey(ref);
      if (!contentAddressed(uri)) return store.getJson<T>(ref);
      return JSON.parse((await this.getBytes(ref)).toString('utf8')) as T;
    },
    cacheStats: () => ({ entries: cache.size, hits: cache.hits, misses: cache.misses }),
  };
}
