-- The sweep deletes keys older than 24 hours by created_at. BRIN: keys are written roughly in
-- time order, and a block-range summary costs the order path nearly nothing, where a B-tree
-- would be one more index written by every keyed order of a spike.
create index idempotency_keys_by_age on orders.idempotency_keys using brin (created_at);
