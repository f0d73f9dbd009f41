"""Model prices: the price seed's rows (seed), their import from genai-prices (sync) and
currency rates (fx). The rules a price seed must follow are the Great Expectations suites
of aiusage.quality, which `aiusage pricing validate` and the refresh both run."""
