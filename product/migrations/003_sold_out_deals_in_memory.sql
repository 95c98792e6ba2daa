-- The snapshot also holds the deals that sold out and have not ended, so the crowd that keeps
-- reading a sold-out deal by id is answered from memory, not by a query each; this index finds
-- them as `deals_unfinished` finds those with stock. (It names remaining_stock, as that one does:
-- the deal row's updates were not HOT before it either.)
create index deals_sold_out_unfinished on product.deals (ends_at) where remaining_stock = 0;
