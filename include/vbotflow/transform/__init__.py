"""Pure pandas transforms of a campaign's call list: data frame in, data frame out."""
