/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OpenIOC engine of the ioc-scan plugin: the document model the parser
 * builds (openioc-parse.c), collections and their documents
 * (openioc-collection.c), the term table (openioc-terms.c), the value
 * comparisons (openioc-value.c), the three-valued evaluator
 * (openioc-eval.c), the per-file indexes (openioc-index.c, its key tables in
 * openioc-keys.c) and the text
 * rendering of trees and matched branches (openioc-print.c). Nothing here
 * depends on the host: the engine is a static library that unit tests, the
 * plugin and the CLI command link directly.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Three-valued logic: unknown never produces a detection. */
typedef enum {
  IOC_FALSE = 0,
  IOC_TRUE = 1,
  IOC_UNKNOWN = 2,
} IocTri;

typedef enum {
  IOC_V1_0 = 10,
  IOC_V1_1 = 11,
} IocVersion;

typedef enum {
  IOC_COND_IS = 0,
  IOC_COND_CONTAINS,
  IOC_COND_MATCHES,
  IOC_COND_STARTS_WITH,
  IOC_COND_ENDS_WITH,
  IOC_COND_GREATER_THAN,
  IOC_COND_LESS_THAN,
  IOC_COND_UNSUPPORTED,
} IocCondition;

/* Comparison types: a term's natural type decides how it compares. */
typedef enum {
  IOC_TYPE_STRING = 0,
  IOC_TYPE_HASH,       /* md5, sha1, sha256: trimmed, caseless */
  IOC_TYPE_INT,        /* int, uint64 */
  IOC_TYPE_DATE,       /* ISO 8601, compared in seconds */
  IOC_TYPE_BOOL,
} IocValueType;

/* The file terms the scanner can see. */
typedef enum {
  IOC_TERM_UNSUPPORTED = 0,
  IOC_TERM_MD5,
  IOC_TERM_SHA1,
  IOC_TERM_SHA256,
  IOC_TERM_FILE_NAME,
  IOC_TERM_FULL_PATH,
  IOC_TERM_FILE_PATH,
  IOC_TERM_FILE_EXTENSION,
  IOC_TERM_SIZE,
  IOC_TERM_CREATED,
  IOC_TERM_MODIFIED,
  IOC_TERM_ACCESSED,
  IOC_TERM_CHANGED,
  IOC_TERM_USERNAME,
  IOC_TERM_COUNT,
} IocTerm;

/* Which hashes a file needs: a bit mask. */
typedef enum {
  IOC_HASH_MD5 = 1 << 0,
  IOC_HASH_SHA1 = 1 << 1,
  IOC_HASH_SHA256 = 1 << 2,
  IOC_HASH_ALL = 7,
} IocHashMask;

typedef struct _IocNode IocNode;

/* A parsed comparison value (content of an IndicatorItem). */
typedef struct {
  IocValueType type;
  gboolean     valid;      /* FALSE: semantic error, the item is unknown */
  gboolean     is_range;   /* "X TO Y", inclusive */
  char        *text;       /* string as written (never trimmed) */
  char        *cmp;        /* what is compared: path-mapped @text, the
                            * normalized hash, or @text itself (aliased) */
  char        *cmp_folded; /* caseless form of @cmp */
  gint64       lo, hi;     /* int / date (seconds) / bool (0, 1) */
  GRegex      *regex;      /* matches */
} IocValue;

struct _IocNode {
  gboolean      is_item;
  gboolean      in_block;        /* part of its document's node_block, its id
                                  * and value.text in the document's backing */
  IocNode      *parent;
  char         *id;
  guint         line;
  /* Indicator */
  gboolean      is_and;          /* operator AND, else OR */
  GPtrArray    *children;        /* IocNode */
  /* IndicatorItem */
  const char   *document;        /* Context document (pooled) */
  const char   *search;          /* Context search ("FileItem/Md5sum"), pooled */
  const char   *content_type;    /* Content type attribute (pooled) */
  const char   *condition_text;  /* as written (pooled) */
  IocCondition  condition;
  gboolean      negate;
  gboolean      preserve_case;
  IocTerm       term;
  IocValue      value;
  /* Index data (openioc-index.c) */
  gboolean      gated;           /* FALSE whenever none of its indexed items hit */
  gboolean      indexed;         /* an equality item answered by the index */
  IocNode      *next_same;       /* next indexed item with the same key */
  GPtrArray    *ungated;         /* Indicator: children that are not gated */
};

/* One problem found in an IOC file (error or warning). */
typedef struct {
  gboolean error;     /* FALSE: a warning */
  guint    line;      /* 0 when unknown */
  char    *message;
} IocProblem;

/* One unsupported term or condition found in a file. */
typedef struct {
  char  *term;        /* "ProcessItem/name", or "FileItem/X condition c" */
  guint  line;
} IocUnsupported;

/* One IOC document (one file of a collection). */
typedef struct {
  char       *file;             /* name in the collection ("x.ioc") */
  IocVersion  version;
  char       *id;
  char       *short_description;
  char       *description;
  char       *authored_by;
  IocNode    *root;             /* NULL when the file failed to parse */
  gboolean    usable;           /* parsed, and not a dropped duplicate */
  GPtrArray  *problems;         /* IocProblem */
  GPtrArray  *unsupported;      /* IocUnsupported */
  GHashTable *pool;             /* strings shared by items (search, ...) */
  guint       n_items;
  /* Set when the document came from the cache: all its nodes in one
   * block, their Content texts in the entry read (kept as it is). */
  IocNode    *node_block;
  gsize       node_block_size;  /* bytes */
  GBytes     *backing;
  GPtrArray  *owning_nodes;     /* the block's nodes that hold memory of
                                 * their own (lists, derived values) */
  gpointer    index_notes;      /* ioc_index_annotate_doc, until the index
                                 * is built */
} IocDoc;

typedef struct _IocIndex IocIndex;
typedef struct _IocKeys IocKeys;

/* What an indexed item is keyed by (openioc-keys.c). */
typedef enum {
  IOC_KEY_MD5 = 1 << 0,
  IOC_KEY_SHA1 = 1 << 1,
  IOC_KEY_SHA256 = 1 << 2,
  IOC_KEY_NAME_FOLDED = 1 << 3,
  IOC_KEY_NAME = 1 << 4,
  IOC_KEY_PATH_FOLDED = 1 << 5,
  IOC_KEY_PATH = 1 << 6,
} IocKeyKind;
#define IOC_KEY_KINDS 7

/* A collection: the IOC files of one task or one CLI run. */
typedef struct {
  GPtrArray *docs;              /* IocDoc, in the order given */
  gsize      max_file_size;     /* bytes; 0 means the default 3 MiB */
  IocIndex  *index;             /* built by ioc_collection_prepare */
  gint64     load_us;           /* time spent adding and preparing (reading,
                                 * parsing, indexing), for the result */
  char      *cache_dir;         /* parsed documents kept here, or NULL */
  gint       cache_hits;        /* documents loaded from the cache */
  gint       cache_stores;      /* documents parsed and stored in it */
} IocCollection;

/* The engine's own limit when its caller gives none (0): the unit tests
 * and fuzz targets. The plugin always passes the `ioc_scan` section's
 * limits.max_ioc_file_kb, whose schema default is the same 3 MiB. */
#define IOC_DEFAULT_MAX_FILE_SIZE (3 * 1024 * 1024)

/* Strings derived from a file's path on demand (folded for caseless
 * comparison, the directory, the extension), cached per file. */
typedef struct {
  char *name_folded;
  char *path_folded;
  char *dir;
  char *dir_folded;
  char *ext;
  char *ext_folded;
  char *path_windows;
  char *dir_windows;
} IocDerived;

/* What the evaluator knows about one file. Paths are device paths (inside
 * the device root, starting with "/"). */
typedef struct {
  const char *path;             /* "/home/alice/x.exe" */
  const char *name;             /* "x.exe" */
  guint64     size;
  gint64      created;          /* seconds; G_MININT64 when unknown */
  gint64      modified;
  gint64      accessed;
  gint64      changed;
  const char *owner;            /* user name, or NULL when unknown */
  guint       have;             /* IocHashMask of computed hashes */
  char        md5[33];
  char        sha1[41];
  char        sha256[65];
  IocDerived *derived;          /* scratch owned by the caller, or NULL */
} IocFileFacts;

#define IOC_TIME_UNKNOWN G_MININT64

/* ---- openioc-parse.c ---- */
/* Parses @len bytes into @doc (root, metadata, problems, unsupported). */
void           ioc_doc_parse             (IocDoc *doc, const char *data, gsize len);
/* Parses an item's Content (@content taken, or NULL) into item->value for
 * its term and condition; reports a semantic problem in @doc, or nothing
 * when @doc is NULL (the cache restores the problems it kept). */
void           ioc_item_set_value        (IocDoc *doc, IocNode *item, char *content);

/* ---- openioc-collection.c ---- */
IocCollection *ioc_collection_new        (gsize max_file_size);
void           ioc_collection_free       (IocCollection *coll);
/* Adds one document from memory; never fails: problems are kept in the
 * document. Returns (transfer none) the document. */
IocDoc        *ioc_collection_add_memory (IocCollection *coll, const char *file,
                                          const char *data, gsize len);
/* Adds @n documents from memory, parsed on every core; in order. */
void           ioc_collection_add_memory_many (IocCollection *coll, const char *const *names,
                                               const char *const *datas, const gsize *lens,
                                               guint n);
/* Reads a file (refusing one over the size limit before reading it). */
IocDoc        *ioc_collection_add_file   (IocCollection *coll, const char *path);
/* Adds every *.ioc / *.xml file of a folder and of its subfolders (at most
 * 16 levels, links to folders not followed; sorted by path), or the file
 * itself. Returns the number of files found. */
guint          ioc_collection_add_path   (IocCollection *coll, const char *path);
/* Keeps parsed documents in @dir (openioc-cache.c) for the documents
 * added after this call; FALSE with @error when @dir cannot be private to
 * this user, and the collection then parses everything. */
gboolean       ioc_collection_set_cache_dir (IocCollection *coll, const char *dir,
                                             GError **error);
/* Checks duplicate ids and builds the index; call once after adding. */
void           ioc_collection_prepare    (IocCollection *coll);
guint          ioc_collection_n_usable   (IocCollection *coll);
gboolean       ioc_doc_has_errors        (const IocDoc *doc);
void           ioc_doc_add_problem       (IocDoc *doc, gboolean error, guint line,
                                          const char *format, ...) G_GNUC_PRINTF (4, 5);
void           ioc_doc_add_unsupported   (IocDoc *doc, guint line, const char *format, ...)
                                          G_GNUC_PRINTF (3, 4);
/* A new empty document appended to @coll. */
IocDoc        *ioc_doc_new               (IocCollection *coll, const char *file);
void           ioc_node_free             (IocNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (IocCollection, ioc_collection_free)

/* ---- openioc-cache.c ---- */
struct stat;
/* The SHA-256 key of a document given in memory under @name. */
void           ioc_cache_key_memory      (const char *name, const char *data, gsize len,
                                          guint8 key[32]);
/* The key of a file by path and identity; FALSE when it is not a regular
 * file, or changed too recently for its identity to be trusted. */
gboolean       ioc_cache_key_file        (const char *path, const struct stat *st,
                                          guint8 key[32]);
/* The entry body of a parsed document, and back into a new empty @doc;
 * FALSE when @data is not a valid body (@doc is then left empty). */
GBytes        *ioc_cache_encode          (const IocDoc *doc);
gboolean       ioc_cache_decode          (IocDoc *doc, GBytes *body);
/* Frees the tree of a document the decoder made (its root, nodes, texts),
 * touching only the nodes that hold memory of their own. */
void           ioc_cache_doc_clear       (IocDoc *doc);
/* Fills a new empty @doc from the entry for @key in @dir, when there is a
 * valid one of at most @max_len bytes. */
gboolean       ioc_cache_load            (const char *dir, const guint8 key[32],
                                          gsize max_len, IocDoc *doc);
/* Stores @doc's entry unless it would be over @max_len bytes. */
gboolean       ioc_cache_store           (const char *dir, const guint8 key[32],
                                          gsize max_len, const IocDoc *doc);
/* Creates @dir (0700) if needed; FALSE unless it is a folder of ours that
 * no one else can write. */
gboolean       ioc_cache_dir_check       (const char *dir, GError **error);
/* Removes the least recently used entries until at most @max_bytes are
 * left, and temporary files left by a dead process; returns the size. */
guint64        ioc_cache_prune           (const char *dir, guint64 max_bytes);
/* The bound the collection prunes the folder to. */
#define IOC_CACHE_MAX_BYTES ((guint64) 256 * 1024 * 1024)

/* ---- openioc-block.c ---- */
/* A zeroed block of at least *@size bytes (*@size is set to what it is);
 * give it back with ioc_block_free and that size. */
gpointer       ioc_block_alloc0          (gsize *size);
void           ioc_block_free            (gpointer block, gsize size);

/* ---- openioc-shared.c ---- */
typedef IocCollection *(*IocCollectionBuild) (gpointer data);
/* The prepared collection for @key (a digest of what it is built from),
 * shared with other runs; @build makes it when the one kept is for another
 * key. *@built tells whether this call built it. Thread-safe. Give it back
 * with ioc_shared_collection_release, never free it. */
IocCollection *ioc_shared_collection_get     (const char *key, IocCollectionBuild build,
                                              gpointer data, gboolean *built);
void           ioc_shared_collection_release (IocCollection *coll);
/* Frees the kept collection when no run uses it (plugin shutdown). */
void           ioc_shared_collection_clear   (void);

/* ---- openioc-terms.c ---- */
/* Maps a Context search ("FileItem/Md5sum") to a term; the document must be
 * "FileItem" (or the search must start with "FileItem/"). */
IocTerm        ioc_term_lookup           (const char *document, const char *search);
IocValueType   ioc_term_type             (IocTerm term);
const char    *ioc_term_name             (IocTerm term);
gboolean       ioc_term_is_path          (IocTerm term);
IocCondition   ioc_condition_parse       (const char *text, IocVersion version,
                                          gboolean *negate);
const char    *ioc_condition_name        (IocCondition cond);
/* Whether @cond applies to values of @type. */
gboolean       ioc_condition_applies     (IocCondition cond, IocValueType type);

/* ---- openioc-value.c ---- */
/* Parses @text as @type under @cond (@term only selects the path mapping);
 * sets value->valid FALSE with a message in @why on a semantic error. */
void           ioc_value_parse           (IocValue *value, IocValueType type,
                                          IocTerm term, IocCondition cond,
                                          gboolean preserve_case, const char *text,
                                          char **why);
/* The same, taking ownership of @text (the parser's own copy). */
void           ioc_value_parse_take      (IocValue *value, IocValueType type,
                                          IocTerm term, IocCondition cond,
                                          gboolean preserve_case, char *text,
                                          char **why);
/* The common case of a large collection, ahead of the general path: `is`
 * on a hash term with @text already a lowercase digest of the term's
 * length; fills the empty @value (taking @text) as ioc_value_parse_take
 * would. FALSE, leaving @value alone, for anything else. */
gboolean       ioc_value_parse_normal_hash (IocValue *value, IocTerm term,
                                            IocCondition cond, char *text);
/* Tests a string subject (@folded: its caseless form, or NULL). */
IocTri         ioc_value_test_string     (const IocValue *value, IocCondition cond,
                                          gboolean preserve_case, const char *subject,
                                          const char *folded);
/* Tests an int, date (seconds) or bool (0/1) subject. */
IocTri         ioc_value_test_number     (const IocValue *value, IocCondition cond,
                                          gint64 subject);
/* Caseless form: Unicode case folding, or ASCII folding for bytes that are
 * not UTF-8 (file names on Linux may be anything). */
char          *ioc_fold                  (const char *text);
void           ioc_derived_clear         (IocDerived *derived);
void           ioc_value_clear           (IocValue *value);
/* Normalizes a hash: trims blanks, lowercases; NULL when not hex of @len. */
char          *ioc_hash_normalize        (const char *text, gsize len);
/* Maps a Windows-style path to the POSIX form (backslashes, drive letter);
 * @strip_leading removes leading separators (FilePath). */
char          *ioc_path_to_posix         (const char *text, gboolean strip_leading);
/* ISO 8601 to seconds since the epoch; FALSE when not a date. */
gboolean       ioc_parse_date            (const char *text, gint64 *out);
/* Compares one item (not negated) with the file; UNKNOWN when the file
 * lacks the fact or the item is invalid. */
IocTri         ioc_item_compare          (const IocNode *item, const IocFileFacts *facts);

/* ---- openioc-eval.c ---- */
IocTri         ioc_tri_not               (IocTri v);
IocTri         ioc_tri_and               (IocTri a, IocTri b);
IocTri         ioc_tri_or                (IocTri a, IocTri b);
/* Evaluates an item with its negation. */
IocTri         ioc_item_eval             (const IocNode *item, const IocFileFacts *facts);
/* Evaluates a whole tree (no index): the reference semantics. */
IocTri         ioc_node_eval             (const IocNode *node, const IocFileFacts *facts);
/* Evaluates with the index's hit set (see openioc-index.c). */
IocTri         ioc_node_eval_hits        (const IocNode *node, const IocFileFacts *facts,
                                          GHashTable *marked);

/* ---- openioc-index.c ---- */
/* Builds coll->index; called by ioc_collection_prepare. */
void           ioc_index_build           (IocCollection *coll);
/* Annotates one usable document for the index ahead of ioc_index_build
 * (while it is still in the loading thread's cache), or does nothing. */
void           ioc_index_annotate_doc    (IocDoc *doc);
void           ioc_index_notes_free      (gpointer notes);
void           ioc_index_free            (IocIndex *index);
/* The index's key tables (tests look at the chains). */
IocKeys       *ioc_index_keys            (IocIndex *index);
/* Hashes a file of @size needs (IocHashMask). */
guint          ioc_index_hashes_for_size (IocIndex *index, guint64 size);
/* The hashes any file may need (to size buffers, report). */
guint          ioc_index_hashes_any      (IocIndex *index);
/* Whether an item of a usable document uses @term. */
gboolean       ioc_index_uses_term       (IocIndex *index, IocTerm term);
/* Whether the index holds size-qualified hash branches only (no file
 * needs hashing unless its size matches one). */
gboolean       ioc_index_size_gated_only (IocIndex *index);
/* Evaluates every usable document for one file: calls @found for each
 * document whose tree is TRUE. Cost does not grow with the number of
 * indexed equality items. */
typedef void (*IocFoundFunc) (IocDoc *doc, const IocFileFacts *facts,
                              GHashTable *marked, gpointer user_data);
void           ioc_index_match           (IocIndex *index, const IocFileFacts *facts,
                                          IocFoundFunc found, gpointer user_data);

/* ---- openioc-keys.c ---- */
/* The key an item is indexed by, or 0 when it is not an equality item. */
IocKeyKind     ioc_item_key_kind         (const IocNode *item);
/* An indexed item with its key's hash, and its kind by bit number. */
typedef struct {
  guint32  hash;
  guint32  kind;
  IocNode *node;
} IocKeyEntry;
IocKeyEntry    ioc_key_entry             (IocNode *item, IocKeyKind kind);
/* Fills the key tables with @entries (IocKeyEntry, in collection order;
 * @counts of each kind, by bit number), chaining equal keys by next_same,
 * the last in collection order first; a large collection is spread over
 * the cores. */
IocKeys       *ioc_keys_build            (const GArray *entries,
                                          const guint counts[IOC_KEY_KINDS]);
void           ioc_keys_free             (IocKeys *keys);
/* The first item keyed by @value, the others through next_same. */
IocNode       *ioc_keys_lookup           (IocKeys *keys, IocKeyKind kind, const char *value);

/* ---- openioc-print.c ---- */
/* One line for an item: `FileItem/Md5sum is "abc"` (with "not"). */
char          *ioc_item_to_string        (const IocNode *item);
/* The whole tree, indented, for `vigil ioc check`. */
void           ioc_node_print            (GString *out, const IocNode *node, guint depth);
/* The branches that made @node TRUE for @facts, indented. */
char          *ioc_matched_text          (const IocNode *node, const IocFileFacts *facts,
                                          GHashTable *marked);

G_END_DECLS
