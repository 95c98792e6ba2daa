-- user_id is the token's subject as the gateway passes it: text, so any verified subject can buy.
create table orders.orders (
  id uuid primary key,
  user_id text not null,
  status text not null check (status in ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')),
  total_amount bigint not null check (total_amount >= 0),
  shipping_address jsonb,
  cancelled_at timestamptz,
  cancel_reason text,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
-- The one index a buyer's list needs (a status filter reads the same range). Every index is
-- written by every order of a spike, so there are no others.
create index orders_by_user on orders.orders (user_id, created_at desc, id desc);

-- product_name and unit_price are copied at the time of the order: later product changes do
-- not rewrite what was bought. No foreign key into product's schema: stock goes through
-- product's own functions, and a key would take one more lock on the hot product row.
create table orders.order_items (
  id uuid primary key,
  order_id uuid not null references orders.orders (id),
  position smallint not null,
  product_id uuid not null,
  deal_id uuid,
  product_name text not null,
  quantity integer not null check (quantity between 1 and 10),
  unit_price integer not null check (unit_price >= 0),
  subtotal bigint not null check (subtotal >= 0)
);
create index order_items_by_order on orders.order_items (order_id, position);

-- Units of a deal with a max_per_user each user holds in orders that are not cancelled: one
-- row to read and change per buyer instead of a sum over their orders, under the deal row's lock.
create table orders.deal_holdings (
  user_id text not null,
  deal_id uuid not null,
  units integer not null check (units >= 0),
  primary key (user_id, deal_id)
);

-- One row per (user, Idempotency-Key): claimed and answered in the transaction of the order it
-- names, so a key yields at most one order whatever crashes, and a retry gets the same answer.
create table orders.idempotency_keys (
  user_id text not null,
  key text not null,
  fingerprint text not null,
  status smallint not null,
  body text not null,
  created_at timestamptz not null default now(),
  primary key (user_id, key)
);
