// The page sizes of the PostgreSQL builds openbar reads, written once: BLCKSZ for data pages
// and XLOG_BLCKSZ for WAL pages (pg_config.h; 8 KiB unless PostgreSQL was built with another
// --with-blocksize or --with-wal-blocksize). Two facts that happen to agree, so two names.
// A cluster of other sizes is refused, never read wrongly: the adapter checks block_size,
// the WAL checks compare every long page header's xlp_xlog_blcksz.

/** BLCKSZ: the size of a data page (relation files are read, checked and restored in them) */
export const PAGE_SIZE = 8192;
/** XLOG_BLCKSZ: the size of a WAL page (each starts with a page header) */
export const WAL_PAGE_SIZE = 8192;
