"""Mobile Experience API: compact, pageable, cacheable."""
