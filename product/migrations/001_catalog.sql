create table product.products (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  description text,
  price integer not null check (price >= 0),
  stock integer not null check (stock >= 0),
  category text,
  image_url text,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp()
);
create index products_newest on product.products (created_at desc, id desc);
create index products_category_newest on product.products (category, created_at desc, id desc);

create table product.deals (
  id uuid primary key default gen_random_uuid(),
  product_id uuid not null references product.products (id),
  deal_price integer not null check (deal_price >= 0),
  deal_stock integer not null check (deal_stock >= 1),
  -- The database itself refuses to oversell, whatever the code above it does.
  remaining_stock integer not null check (remaining_stock >= 0 and remaining_stock <= deal_stock),
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  created_at timestamptz not null default clock_timestamp(),
  check (ends_at > starts_at)
);
create index deals_by_product on product.deals (product_id);
create index deals_unfinished on product.deals (ends_at) where remaining_stock > 0;

-- Every committed change tells the product replicas to refresh their in-memory snapshot.
create function product.notify_catalog_change() returns trigger language plpgsql as $$
begin
  perform pg_notify('catalog_changed', tg_table_name);
  return null;
end $$;
create trigger products_changed after insert or update or delete on product.products
  for each statement execute function product.notify_catalog_change();
create trigger deals_changed after insert or update or delete on product.deals
  for each statement execute function product.notify_catalog_change();
