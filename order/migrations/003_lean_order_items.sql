-- Every order of a spike writes its items, so each index and check on them is paid per unit
-- sold. The foreign key to orders fired a trigger per item that looked up and share-locked the
-- order row the same statement group had just inserted: items are written only by the
-- transaction that writes their order, and orders are never deleted, so it guarded nothing.
-- An order's items are read by (order_id, position), which becomes the primary key; item ids
-- are generated UUIDs, unique by construction and looked up by nothing, so they need no index.
alter table orders.order_items drop constraint order_items_order_id_fkey;
alter table orders.order_items drop constraint order_items_pkey;
drop index orders.order_items_by_order;
alter table orders.order_items add primary key (order_id, position);
