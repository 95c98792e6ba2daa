-- Holdings are read and written by (deal, buyer), and in a sale every buyer of the deal is new.
-- Keyed by the buyer first, each of a sale's inserts landed on a random page of the whole index
-- (every buyer of every deal); keyed by the deal first, they stay among the deal's own pages.
alter table orders.deal_holdings drop constraint deal_holdings_pkey;
alter table orders.deal_holdings add primary key (deal_id, user_id);
