/**
 * The data a run needs, created through the gateway the way clients would: users with
 * tokens, a full first page of products, and 20 deals live for the next day.
 */

const USERS = 10;
const PRODUCTS = 40;
const LIVE_DEALS = 20;

export interface Seeded {
  /** Access tokens of seeded users; requests rotate over them. */
  tokens: string[];
  /** Seeded products, for reads by id (one database query each). */
  productIds: string[];
  /** The seeded users' credentials, for the login storm. */
  logins: { email: string; password: string }[];
}

export async function post(base: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`seeding: POST ${path} answered ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

export async function seed(gatewayUrl: string): Promise<Seeded> {
  const run = `${Date.now().toString(36)}-${process.pid}`;
  const password = "bench-password-not-secret";
  const logins = Array.from({ length: USERS }, (_, i) => ({ email: `bench-${run}-${i}@example.com`, password }));
  const tokens = await Promise.all(
    logins.map(async ({ email }, i) => {
      await post(gatewayUrl, "/auth/register", { email, password, name: `Bench User ${i}` });
      return (await post(gatewayUrl, "/auth/login", { email, password })).access_token as string;
    }),
  );
  const token = tokens[0]!;
  const products: { id: string; price: number }[] = [];
  for (let i = 0; i < PRODUCTS; i++) {
    const price = 1000 + i * 250;
    const p = await post(
      gatewayUrl,
      "/products",
      { name: `Bench product ${i} (${run})`, description: `A product the bench reads: item ${i}, with a description of ordinary length for a shop.`, price, stock: 1000, category: i % 2 ? "electronics" : "home" },
      token,
    );
    products.push({ id: p.id, price });
  }
  const now = Date.now();
  for (let i = 0; i < LIVE_DEALS; i++) {
    const p = products[i]!;
    await post(
      gatewayUrl,
      "/products/deals",
      { product_id: p.id, deal_price: Math.round(p.price * 0.7), deal_stock: 500, starts_at: new Date(now - 60_000).toISOString(), ends_at: new Date(now + 86_400_000).toISOString() },
      token,
    );
  }
  return { tokens, productIds: products.map((p) => p.id), logins };
}
