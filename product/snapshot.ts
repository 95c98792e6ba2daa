/**
 * The hot reads, served from memory: the deals that have not ended (the live ones' list as
 * pre-serialized JSON with an ETag, and each one by id, sold out included) and the first
 * pages of the product list, with an ETag too. The
 * data is reloaded when the database says it changed (LISTEN/NOTIFY), on a timer as a safety
 * net, and never by a request: a request only re-renders from memory, which also makes deals
 * start and end on the clock to the millisecond. Reloads are single-flight: whoever asks while
 * one runs gets one more after it.
 *
 * Reads after writes: the instance that answered a write must show it in its lists right
 * away, so a write's handler awaits `caughtUp()` before answering: a reload that started
 * after the write committed (the one in flight may have read the data before it). Writers
 * that arrive together share that one reload, so coalescing reloads under load stays free to
 * decide when the next one runs; it only has to start after the writers asked.
 *
 * Notifications are coalesced (`refreshSoon`): during an order spike every batch of orders
 * changes a deal row, and reloading per change would cost the database more than the orders.
 */
import type { Catalog } from "./catalog.ts";
import { SIZE_MAX } from "../lib/paging.ts";
import { dealJson, isLive, productJson, type DealRow, type ProductRow } from "./rows.ts";

export interface RenderedPage {
  body: Uint8Array;
  etag: string;
}

interface SnapshotData {
  deals: DealRow[];
  dealsById: Map<string, DealRow>;
  products: ProductRow[];
  totals: Map<string | null, number>;
  loadedAt: number;
}

interface DealView {
  live: DealRow[];
  /** The view is exact until this time (the next start or end of a deal). */
  validUntil: number;
  pages: Map<number, RenderedPage>;
}

const MAX_CACHED_PAGES = 512;
/** Deal pages are cached by one number: page and size, which is at most SIZE_MAX. */
const dealPageKey = (page: number, size: number) => page * (SIZE_MAX + 1) + size;
const encoder = new TextEncoder();

function render(value: unknown): RenderedPage {
  const json = JSON.stringify(value);
  return { body: encoder.encode(json), etag: `"${Bun.hash(json).toString(36)}"` };
}

export class CatalogSnapshot {
  private data: SnapshotData | null = null;
  private dealView: DealView | null = null;
  private productPages = new Map<string, RenderedPage>();
  private running: Promise<void> | null = null;
  private again = false;
  /** How many reloads have started; a waiter needs one numbered above what it saw. */
  private reloadsStarted = 0;
  private waiters: { after: number; done: () => void }[] = [];
  private lastStart = 0;
  private soon: Timer | null = null;
  lastError: unknown = null;
  loads = 0;
  failures = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly productWindow: number,
    private readonly onError: (e: unknown) => void = () => {},
    /** Least time between the starts of two reloads asked for by `refreshSoon`. */
    private readonly notifyGapMs = 0,
  ) {}

  get ready(): boolean {
    return this.data !== null;
  }

  /** Milliseconds since the data was last read from the database. */
  age(now = Date.now()): number {
    return this.data ? now - this.data.loadedAt : Number.POSITIVE_INFINITY;
  }

  /** Reloads from the database; concurrent calls share one reload (plus one after it). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        const reload = ++this.reloadsStarted;
        this.lastStart = Date.now();
        try {
          const data = await this.catalog.snapshotData(this.productWindow);
          this.install({ ...data, dealsById: new Map(data.deals.map((d) => [d.id, d])), loadedAt: Date.now() });
          this.lastError = null;
          this.loads++;
        } catch (e) {
          this.lastError = e;
          this.failures++;
          this.onError(e);
          // The writes are committed whatever the snapshot does; their answers are not held
          // back while the database cannot be read (the timer's next reload catches up).
          this.release(Number.POSITIVE_INFINITY);
          // Not again at once: the database is not answering, and the timer retries.
          this.again = false;
          return;
        }
        this.release(reload);
      } while (this.again);
    })().finally(() => {
      this.running = null;
      // Asked for between the loop's last check and here (a released writer's continuation
      // runs first): that ask is owed a reload that starts after it.
      if (this.again) void this.refresh();
    });
    return this.running;
  }

  /**
   * Resolves once a reload that started after this call has finished, so whatever was
   * committed before the call is in memory (or that reload failed, see `refresh`).
   */
  caughtUp(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.waiters.push({ after: this.reloadsStarted, done: resolve });
    void this.refresh();
    return promise;
  }

  private release(reload: number): void {
    if (this.waiters.length === 0) return;
    const waiting: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.after < reload) w.done();
      else waiting.push(w);
    }
    this.waiters = waiting;
  }

  /**
   * A change was notified: reload once `notifyGapMs` has passed since the last reload started,
   * however many notifications arrive meanwhile. The list then lags a change by at most that
   * gap plus one reload.
   */
  refreshSoon(): void {
    if (this.soon) return;
    const wait = Math.max(0, this.lastStart + this.notifyGapMs - Date.now());
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.refresh();
    }, wait);
  }

  /** Stops a reload that `refreshSoon` scheduled (at shutdown). */
  cancelScheduled(): void {
    if (this.soon) clearTimeout(this.soon);
    this.soon = null;
  }

  private install(data: SnapshotData): void {
    this.data = data;
    this.dealView = null;
    this.productPages = new Map();
  }

  /** A page of the live deals, or null before the first load. */
  dealsPage(page: number, size: number, now = Date.now()): RenderedPage | null {
    const view = this.currentDealView(now);
    if (!view) return null;
    const key = dealPageKey(page, size);
    let rendered = view.pages.get(key);
    if (rendered === undefined) {
      const items = view.live.slice((page - 1) * size, page * size).map((d) => dealJson(d, now));
      rendered = render({ items, total: view.live.length, page, size });
      if (view.pages.size < MAX_CACHED_PAGES) view.pages.set(key, rendered);
    }
    return rendered;
  }

  private currentDealView(now: number): DealView | null {
    if (this.dealView && now < this.dealView.validUntil) return this.dealView;
    if (!this.data) return null;
    let validUntil = Number.POSITIVE_INFINITY;
    const live: DealRow[] = [];
    for (const d of this.data.deals) {
      const start = d.starts_at.getTime();
      const end = d.ends_at.getTime();
      if (now < start) validUntil = Math.min(validUntil, start);
      else if (now <= end) validUntil = Math.min(validUntil, end + 1);
      if (isLive(d, now)) live.push(d);
    }
    this.dealView = { live, validUntil, pages: new Map() };
    return this.dealView;
  }

  /**
   * A page of the product list when memory holds all of it: the page lies inside the newest
   * `productWindow` products (for a category: inside the ones of that category in the window),
   * or the window holds every product. Null means "ask the database".
   */
  productsPage(page: number, size: number, category: string | undefined): RenderedPage | null {
    const data = this.data;
    if (!data) return null;
    const key = `${page}:${size}:${category ?? ""}`;
    const cached = this.productPages.get(key);
    if (cached) return cached;
    const total = category === undefined ? sum(data.totals) : (data.totals.get(category) ?? 0);
    const inWindow = category === undefined ? data.products : data.products.filter((p) => p.category === category);
    const complete = inWindow.length === total;
    if (!complete && page * size > inWindow.length) return null;
    const items = inWindow.slice((page - 1) * size, page * size).map(productJson);
    const rendered = render({ items, total, page, size });
    if (this.productPages.size < MAX_CACHED_PAGES) this.productPages.set(key, rendered);
    return rendered;
  }

  /** Live deals right now (for metrics). */
  liveDeals(now = Date.now()): number {
    return this.currentDealView(now)?.live.length ?? 0;
  }

  /** Reads by id when the database cannot answer. */
  product(id: string): ProductRow | undefined {
    const data = this.data;
    if (!data) return undefined;
    return data.products.find((p) => p.id === id) ?? data.deals.find((d) => d.product_id === id)?.product;
  }

  deal(id: string): DealRow | undefined {
    return this.data?.dealsById.get(id);
  }
}

const sum = (m: Map<unknown, number>) => {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
};
