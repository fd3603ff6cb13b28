/* The overview's text query and the duplicate check (S1, S11; SPEC: duplicate check): the word
 * index of table prospect_terms, the list query in every order and filter, and the duplicate
 * lookups. Every statement filters by tenant and reads an index in order (no OFFSET, no scan of a
 * tenant's rows: see migrations/20261127000002_prospect_search.sql and the EXPLAIN tests).
 *
 * Words. A text is cut into words in normal form by ps_norm_name (Unicode case folding in every
 * script, accents and other marks stripped, the few letters without a decomposition such as ß or ø
 * spelled out, punctuation and apostrophes dropped, legal forms such as "B.V." left out), at most
 * PS_SEARCH_WORD_MAX characters each. A record's words come from its display name, company name,
 * city, e-mail (as written without the dots, and with every dot as a space, so both
 * "jan.jansen@example.com" and "jansen" find it) and VAT number (as written, in normal form with
 * its country prefix, and that without the prefix). A record matches a query when every query
 * word is the start of one of its words.
 *
 * Index. Each word is stored whole and as its first 1, 2 and 3 characters (PS_SEARCH_PREFIX_MAX),
 * at most PS_SEARCH_TERMS_MAX distinct terms per record. One query word: up to 3 characters it is
 * one exact term (one ordered index range per state, stops after a page); longer, it is the range
 * of whole words starting with it, sorted after the lookup (cost grows with the records having such
 * a word, not with the tenant), or, when that statement stops after examining 5000 rows (LIMIT ...
 * ROWS EXAMINED), its first 3 characters' term read in order with the whole word checked per
 * candidate. Several words: their postings are intersected,
 * each word read as one ordered range of an exact term (its first 3 characters when longer) over
 * the same stretch of the page's order, chunk by chunk, in one snapshot; a long word with few
 * records drives by its own records (search.c: "several words"). The cost grows with the records of
 * the words, not with the tenant, and a common combination ends after the first chunk.
 *
 * Pairs. Two common words whose combination is rare (a city and a first name) would still read
 * every record of one of them. So a record's index also holds, for every two of its words whose
 * first 3 characters differ and hold no digit (pairable: a word of 3 characters or more, not a VAT
 * or other number, which is rare enough to drive alone), the pair term "abc xyz" of those first
 * characters (in byte order, one space between: no word holds a space). A record whose words start
 * with more than PS_SEARCH_PAIR_PREFIXES_MAX different pairable 3 characters gets the one term
 * PS_SEARCH_PAIRS_NONE instead (too many pairs to write). A query of two such words then drives by
 * the pair's postings together with those of PS_SEARCH_PAIRS_NONE: a superset of the records
 * with both words, as dense as their combination. The pairs are built since PS_NORM_VERSION 3;
 * the listing uses them (ps_list_query_t.pairs) once the reindex has rebuilt every older row.
 *
 * Keeping the index right: ps_store_prospect_insert/_update/_delete (store/prospects.h) maintain
 * it; the records of a bulk import get theirs from the background indexer (store/index_queue.h). Any other code that changes a record's state or names, or deletes one, must call
 * ps_store_search_reindex / ps_store_search_unindex in the same transaction.
 *
 * Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_SEARCH_H
#define PS_STORE_SEARCH_H

#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/db.h"
#include "store/prospects.h"

#define PS_SEARCH_WORD_MAX 32      /* characters of a word kept (longer words are cut) */
#define PS_SEARCH_PREFIX_MAX 3     /* prefixes of 1..3 characters are terms of their own */
#define PS_SEARCH_TERMS_MAX 128    /* distinct terms of one record (words beyond are not indexed) */
#define PS_SEARCH_QUERY_WORDS 5    /* words a query may have after normalisation */
#define PS_SEARCH_TERM_BYTES (PS_SEARCH_WORD_MAX * 4 + 1)
#define PS_SEARCH_PAIR_PREFIXES_MAX 16 /* a record with more pairable terms: no pairs */
#define PS_SEARCH_PAIRS_MAX (PS_SEARCH_PAIR_PREFIXES_MAX * (PS_SEARCH_PAIR_PREFIXES_MAX - 1) / 2)
#define PS_SEARCH_PAIRS_NONE "~ ~"  /* the term of a record without pair terms (never a pair) */
#define PS_SEARCH_PAIR_BYTES (2 * PS_SEARCH_PREFIX_MAX * 4 + 2)
/* a record's terms: its words' (at most PS_SEARCH_TERMS_MAX), then its pairs or PS_SEARCH_PAIRS_NONE */
#define PS_SEARCH_RECORD_TERMS (PS_SEARCH_TERMS_MAX + PS_SEARCH_PAIRS_MAX + 1)

/* Slots of the hash of a record's word terms that keeps them distinct (a power of 2, at least
 * twice PS_SEARCH_TERMS_MAX). */
#define PS_SEARCH_TERM_SLOTS 256

/* A record's terms (pure). */
typedef struct ps_search_terms {
  int n;                                                   /* terms used */
  int n_words;                                             /* of which its words' (the first) */
  char term[PS_SEARCH_RECORD_TERMS][PS_SEARCH_TERM_BYTES]; /* distinct, NUL-terminated */
  unsigned short slot[PS_SEARCH_TERM_SLOTS];               /* word term index + 1; 0: free */
} ps_search_terms_t;

/* 1 when term is pairable: 3 characters, no digit. Pure. */
int ps_search_pairable(const char *term);

/* The pair term of two different pairable terms a and b (either order) into out: "a b" with the
 * smaller (strcmp) first. Pure. */
void ps_search_pair_term(const char *a, const char *b, char out[PS_SEARCH_PAIR_BYTES]);

/* The terms of a record (display name, company name, city, e-mail, VAT number, country code for
 * the VAT prefix). Pure and thread-safe. */
void ps_search_record_terms(const ps_prospect_cols_t *c, ps_search_terms_t *ret);

/* The words of a query: normalised, distinct, words that merely start another query word dropped,
 * longest first. 0 with *ret_n (0: the query has no words, list everything), or -1 when the query
 * has more than PS_SEARCH_QUERY_WORDS words. Pure and thread-safe. */
int ps_search_query_words(const char *query, char ret[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES],
                          int *ret_n);

/* The words of a query as version 1 folded them (ps_norm_name_v1, core/normalize_v1.h), otherwise
 * as ps_search_query_words: the words that rows not rebuilt by the reindex yet are indexed under.
 * Pure and thread-safe. */
int ps_search_query_words_v1(const char *query, char ret[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES],
                             int *ret_n);

/* Writes the terms of record c (its current state and display name), in the caller's transaction.
 * replace: delete the record's old terms first. 0, or -1 with st set. */
int ps_store_search_index(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c, int replace,
                          ps_status_t *st);

/* Rewrites the terms of record id from its row (after a change of state or names by other code).
 * Removes them when the record is gone. 0, or -1 with st set. */
int ps_store_search_reindex(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                            ps_status_t *st);

/* Removes the terms of record id (when it is deleted or merged away). 0, or -1 with st set. */
int ps_store_search_unindex(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st);

typedef enum ps_list_order {
  PS_LIST_NEWEST = 0,  /* id descending (ids are UUIDv7: creation order) */
  PS_LIST_BY_NAME = 1, /* display_name (collation of the column), then id, ascending */
} ps_list_order_t;

/* One page of the overview. */
typedef struct ps_list_query {
  ps_list_order_t order;
  int states[2];                       /* the states shown; states[1] 0 when only one */
  int n_words;                         /* query words (ps_search_query_words), 0: no query */
  const char *words[PS_SEARCH_QUERY_WORDS];
  int n_old_words;                     /* 0, or the query's words as version 1 folded them when */
  const char *old_words[PS_SEARCH_QUERY_WORDS]; /* they differ and rows of version 1 may remain */
  int pairs;                           /* every record's pair terms are built: several words may
                                          drive by a pair (see "Pairs" above) */
  int has_cursor;                      /* continue after (after_name, after_id) */
  ps_id_t after_id;                    /* last id of the previous page */
  const char *after_name;              /* its display name (BY_NAME only) */
  int limit;                           /* rows wanted (callers ask one more than a page) */
  size_t max_bytes;                    /* stop after the rows read take this much of the arena */
} ps_list_query_t;

/* Reads up to q->limit records in order into ret_rows (strings in a). Reading stops early, after at
 * least one row, once the rows take q->max_bytes (0: no cap) of the arena: then *ret_cut is 1 (rows
 * may follow). With old words (q->n_old_words), the records that either the words or the old words
 * find: both listings are read with the same cursor and merged in the page's order (by name the
 * database orders the union: one more statement), up to where both are known, so that paging sees
 * each record once. 0 with *ret_n and *ret_cut, or -1 with st set. */
int ps_store_prospect_list(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_list_query_t *q,
                           ps_prospect_cols_t *ret_rows, int *ret_n, int *ret_cut, ps_status_t *st);

/* The union of two listings of one page (pure; ps_store_prospect_list): n distinct records of both
 * in the page's order; incomplete[k] when listing k may have more records after its last (it
 * filled the page or stopped at the byte cap), and then last[k] the position of its last record
 * among the n (-1: none of them). Returns how many of the n the page may show, at most limit: none
 * past an incomplete listing's last record, since what follows it in that listing is not known. */
int ps_search_union_keep(int n, const int incomplete[2], const int last[2], int limit);

/* What the duplicate check compares. */
typedef enum ps_dup_key {
  PS_DUP_EMAIL = 0,
  PS_DUP_VAT = 1,
  PS_DUP_PHONE = 2,
  PS_DUP_NAME = 3,
} ps_dup_key_t;

/* Up to limit live records of the tenant whose name key equals name_key (newest first), through
 * a callback (key PS_DUP_NAME). 0, or -1 with st set. */
typedef int (*ps_dup_fn)(void *arg, const ps_prospect_cols_t *row, ps_dup_key_t key);
int ps_store_prospect_dups_name(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *name_key,
                                int limit, ps_dup_fn fn, void *arg, ps_status_t *st);
/* The same for the e-mail, VAT number and phone normal forms at once (an empty or NULL one is not
 * compared; newest first per key), in one statement: each row comes with its key. 0, or -1 with
 * st set. */
int ps_store_prospect_dups_exact(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *email,
                                 const char *vat, const char *phone, int limit, ps_dup_fn fn,
                                 void *arg, ps_status_t *st);

/* The records of the tenant with these ids (the same id may come twice; an id without a record is
 * left out), through fn with key PS_DUP_NAME: one statement for up to 64 ids. 0, or -1 with st
 * set. */
int ps_store_prospect_dups_ids(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *ids,
                               int n, ps_dup_fn fn, void *arg, ps_status_t *st);

/* Up to limit live records of the tenant whose name key is one of keys_json (a JSON array of
 * strings), through fn with key PS_DUP_NAME: one index lookup per key. 0, or -1 with st set. */
int ps_store_prospect_dups_names(ps_db_t *db, ps_arena_t *a, const char *tenant,
                                 const char *keys_json, int limit, ps_dup_fn fn, void *arg,
                                 ps_status_t *st);

/* Up to limit live records of the tenant that have the word index term `word` (a whole word of
 * at least PS_SEARCH_PREFIX_MAX + 1 characters is a term of its own): their ids and display names,
 * read from the index alone, through fn. 0, or -1 with st set. */
typedef int (*ps_dup_name_fn)(void *arg, const ps_id_t *id, const char *display_name);
int ps_store_prospect_dups_word(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *word,
                                int limit, ps_dup_name_fn fn, void *arg, ps_status_t *st);

#endif
