-- The most units of a deal one user may hold in orders that are not cancelled (null: no limit).
alter table product.deals add column max_per_user integer check (max_per_user >= 1);

-- The narrow interface through which the order service takes and gives back stock, inside its
-- own transaction: an order and its stock change then commit together or not at all, so no
-- crash can leave stock taken for an order that does not exist, and no recovery job is needed.
-- Rows are always locked deals first, then products, each in id order, so that two
-- transactions locking overlapping rows wait for each other instead of deadlocking.

create function product.lock_deals(ids uuid[]) returns table (
  id uuid, product_id uuid, deal_price integer, remaining_stock integer,
  starts_at timestamptz, ends_at timestamptz, max_per_user integer
) language sql as $$
  select d.id, d.product_id, d.deal_price, d.remaining_stock, d.starts_at, d.ends_at, d.max_per_user
  from product.deals d where d.id = any(ids) order by d.id for update
$$;

create function product.lock_products(ids uuid[]) returns table (id uuid, name text, price integer, stock integer)
language sql as $$
  select p.id, p.name, p.price, p.stock from product.products p where p.id = any(ids) order by p.id for update
$$;

-- Deltas are negative to take stock and positive to give it back; the check constraints still
-- refuse a negative result whatever the caller computed.
create function product.change_stock(deal_ids uuid[], deal_deltas integer[], product_ids uuid[], product_deltas integer[])
returns void language sql as $$
  update product.deals d set remaining_stock = d.remaining_stock + c.delta
  from unnest(deal_ids, deal_deltas) as c(id, delta) where d.id = c.id;
  update product.products p set stock = p.stock + c.delta, updated_at = clock_timestamp()
  from unnest(product_ids, product_deltas) as c(id, delta) where p.id = c.id;
$$;
