/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The event log and bus. An event is stored before anything else happens
 * (the store is the console's event log and the dispatch queue at once):
 * vh_events_emit inserts it with dispatched = 0 from any thread, and
 * vh_events_dispatch, on the main thread, claims undispatched events one by
 * one with a compare-and-set so that two processes sharing a state folder
 * (`vigil serve` and a `vigil event emit`) never run handlers twice. Events
 * emitted by handlers get higher sequence numbers and are dispatched in a
 * later round. Dispatched events older than the host config's retention
 * ([events] retention_days) are purged with the task results. The host
 * itself reacts to `host.database_updated` by starting the tasks scheduled
 * "after a database update". Events a handler emits, directly or through
 * the tasks it creates, carry the length of their chain, so that a handler
 * that re-emits what it handles (or two handlers feeding each other) is
 * stopped, with a warning that names the handler, instead of looping.
 */
#include "tasks/tasks-private.h"

#include "vigil/util/json.h"

#define DISPATCH_BATCH 256
/* Events one event may set off, one after the other, through handlers and
 * the tasks they create (the first has depth 0, then 1 to MAX_CHAIN).
 * Real chains are a few links long. */
#define MAX_CHAIN 16
/* The task map only grows while tasks are created by handlers; past this
 * size it starts again (a chain then restarts from zero, still bounded). */
#define MAX_CHAIN_TASKS 4096

/* A link in a chain: how many events came before, and the last handler. */
typedef struct {
  guint  depth;
  char  *via;
} Chain;

struct _VhEvents {
  guint       dispatching;   /* re-entrancy guard: a handler may not dispatch */
  gboolean    handlers_off;  /* an agent: events are recorded and forwarded,
                              * the console runs the handlers (fleet.md, Events) */
  GMutex      chain_lock;
  GHashTable *event_chains;  /* event id -> Chain, for events set off by a chain */
  GHashTable *task_chains;   /* task id -> Chain, for tasks a handler created */
};

static void
chain_free (Chain *chain)
{
  if (chain == NULL)
    return;
  g_free (chain->via);
  g_free (chain);
}

static Chain *
chain_new (guint depth, const char *via)
{
  Chain *chain = g_new0 (Chain, 1);

  chain->depth = depth;
  chain->via = g_strdup (via);
  return chain;
}

/* The chain of what this thread runs now: a handler, or a task run. */
static GPrivate current_chain = G_PRIVATE_INIT ((GDestroyNotify) chain_free);

static const VhMigration migrations[] = {
  { 1,
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  time_us INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  device_id TEXT,"
    "  source TEXT NOT NULL,"
    "  payload_version INTEGER NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  dispatched INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX events_time ON events (time_us);"
    "CREATE INDEX events_type ON events (type, time_us);"
    "CREATE INDEX events_device ON events (device_id, time_us);"
    "CREATE INDEX events_pending ON events (dispatched, seq);" },
};

/* The audit events the host records (docs/events.md), never accepted
 * from outside: a forged one would falsify the audit trail. */
static const char *const audit_types[] = {
  "host.policy_applied", "host.policy_removed", "host.inventory_changed",
  "host.task_deleted", "host.password_refused", NULL,
};

gboolean
vh_event_type_refuse_audit (const char *type, GError **error)
{
  if (type == NULL || !g_strv_contains (audit_types, type))
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "event type '%s' is an audit event the host records itself; "
               "it cannot be emitted", type);
  return FALSE;
}

/* The audit recorder the layers below reach through vh_audit: host.*
 * events in the event log, from the host. */
static gboolean
record_audit (VigilHost *host, const char *type, const char *device_id,
              JsonObject *payload, GError **error)
{
  g_autofree char *id = vh_events_emit (host, "host", type, device_id, 1, payload, error);

  return id != NULL;
}

gboolean
vh_events_init (VigilHost *host, GError **error)
{
  if (!vh_store_migrate (vh_context (host)->store, "events", migrations, G_N_ELEMENTS (migrations), error))
    return FALSE;
  vh_context (host)->events = g_new0 (VhEvents, 1);
  g_mutex_init (&vh_context (host)->events->chain_lock);
  vh_context (host)->events->event_chains = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, (GDestroyNotify) chain_free);
  vh_context (host)->events->task_chains = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, (GDestroyNotify) chain_free);
  vh_registry_set_audit_func (host, record_audit);
  return TRUE;
}

void
vh_events_free (VigilHost *host)
{
  VhEvents *events = g_steal_pointer (&vh_context (host)->events);

  if (events == NULL)
    return;
  g_hash_table_unref (events->event_chains);
  g_hash_table_unref (events->task_chains);
  g_mutex_clear (&events->chain_lock);
  g_free (events);
}

/* ---- chains ---------------------------------------------------------- */

/* (transfer full) the chain stored under @key in @table, or NULL. */
static Chain *
chain_lookup (VhEvents *events, GHashTable *table, const char *key, gboolean remove)
{
  Chain *found, *copy = NULL;

  g_mutex_lock (&events->chain_lock);
  if ((found = g_hash_table_lookup (table, key)) != NULL)
    copy = chain_new (found->depth, found->via);
  if (remove)
    g_hash_table_remove (table, key);
  g_mutex_unlock (&events->chain_lock);
  return copy;
}

static void
chain_store (VhEvents *events, GHashTable *table, const char *key, const Chain *chain)
{
  g_mutex_lock (&events->chain_lock);
  if (table == events->task_chains && g_hash_table_size (table) >= MAX_CHAIN_TASKS)
    g_hash_table_remove_all (table);
  g_hash_table_replace (table, g_strdup (key), chain_new (chain->depth, chain->via));
  g_mutex_unlock (&events->chain_lock);
}

void
vh_events_chain_note_task (VigilHost *host, const char *task_id)
{
  Chain *current = g_private_get (&current_chain);

  if (current != NULL && task_id != NULL)
    chain_store (vh_context (host)->events, vh_context (host)->events->task_chains, task_id,
                 current);
}

void
vh_events_chain_enter_task (VigilHost *host, const char *task_id)
{
  g_private_replace (&current_chain, chain_lookup (vh_context (host)->events,
                                                   vh_context (host)->events->task_chains,
                                                   task_id, FALSE));
}

void
vh_events_chain_leave (void)
{
  g_private_replace (&current_chain, NULL);
}

/* FALSE with @error, and a warning, when an event a plugin emits now
 * would make this thread's chain longer than MAX_CHAIN. */
static gboolean
chain_allows (VigilHost *host, const char *source, const char *type, GError **error)
{
  Chain *current = g_private_get (&current_chain);
  g_autofree char *message = NULL;

  /* The host's own events (a run's end, audit) record what happened and
   * are never refused; what their handlers emit still is. */
  if (current == NULL || current->depth <= MAX_CHAIN || g_strcmp0 (source, "host") == 0)
    return TRUE;
  message = g_strdup_printf ("event %s from %s not emitted: it would be event %u of one "
                             "chain of events set off by each other through handlers and "
                             "the tasks they create (at most %d follow the first): a loop, stopped; it last "
                             "went through %s", type, source ? source : "host",
                             current->depth + 1, MAX_CHAIN, current->via);
  vh_log (host, "host", G_LOG_LEVEL_WARNING, message);
  g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED, message);
  return FALSE;
}

/* ---- emit ------------------------------------------------------------ */

/* @cache (optional): the statement kept between the inserts of a batch
 * (parsing it was a fifth of the console's work per event); the caller
 * finalizes it. */
static gboolean
insert_event (VigilHost *host, const char *id, gint64 time_us, const char *source,
              const char *type, const char *device_id, guint version,
              const char *payload, sqlite3_stmt **cache, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = cache != NULL ? *cache : NULL;
  gboolean ok = TRUE;

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
    }
  else
    ok = sqlite3_prepare_v2 (db, "INSERT INTO events (id, time_us, type, device_id, source,"
                             " payload_version, payload) VALUES (?,?,?,?,?,?,?)",
                             -1, &stmt, NULL) == SQLITE_OK;
  if (ok)
    {
      sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 2, time_us);
      sqlite3_bind_text (stmt, 3, type, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 4, device_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 5, source, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 6, version);
      sqlite3_bind_text (stmt, 7, payload, -1, SQLITE_TRANSIENT);
      ok = sqlite3_step (stmt) == SQLITE_DONE;
    }
  if (!ok)
    vh_store_set_error (db, "storing an event", error);
  if (cache != NULL)
    {
      /* Reset now: a statement left mid-step holds a read on the table. */
      if (stmt != NULL)
        sqlite3_reset (stmt);
      *cache = stmt;
    }
  else
    sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

typedef enum { ID_FREE, ID_SAME_EVENT, ID_OTHER_EVENT } IdUse;

/* Whether the row @id exists, and has this device and source: the same
 * event, delivered again. */
static IdUse
event_id_use (VigilHost *host, const char *id, const char *device_id, const char *source)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = NULL;
  IdUse use = ID_FREE;

  if (sqlite3_prepare_v2 (db, "SELECT device_id IS ? AND source = ? FROM events WHERE id = ?",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, device_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, source ? source : "host", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, id, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        use = sqlite3_column_int (stmt, 0) ? ID_SAME_EVENT : ID_OTHER_EVENT;
    }
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return use;
}

/* Checks and stores one event under @id; a row with @id already there is
 * a duplicate when it has the same device and source (*duplicate set),
 * and refused otherwise. */
static gboolean
store_event (VigilHost *host, const char *id, const char *source, const char *type,
             const char *device_id, guint payload_version, JsonObject *payload,
             gboolean *duplicate, sqlite3_stmt **cache, GError **error)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonObject) empty = json_object_new ();
  g_autoptr (GError) local = NULL;
  g_autofree char *text = NULL;

  if (!vh_event_type_valid (type, error)
      || (device_id != NULL && !vh_event_device_valid (device_id, error)))
    return FALSE;
  if (payload_version < 1)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "event %s: payload_version must be 1 or more", type);
      return FALSE;
    }
  json_node_set_object (node, payload ? payload : empty);
  text = json_to_string (node, FALSE);
  if (strlen (text) > VH_EVENT_MAX_PAYLOAD)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "event %s: the payload is larger than %d bytes", type, VH_EVENT_MAX_PAYLOAD);
      return FALSE;
    }
  /* json-glib writes a NaN as nan.0 and invalid UTF-8 raw: such a payload
   * would read back as nothing. Refused here, where the emitter hears it. */
  if (!vigil_json_check (text, strlen (text), VIGIL_JSON_STRICT, NULL, &local))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "event %s: the payload would not read back as JSON: %s", type,
                   local->message);
      return FALSE;
    }
  if (insert_event (host, id, vh_now (host), source ? source : "host", type,
                    device_id, payload_version, text, cache, &local))
    return TRUE;
  if (duplicate != NULL)
    switch (event_id_use (host, id, device_id, source))
      {
      case ID_SAME_EVENT:
        *duplicate = TRUE;
        return TRUE;
      case ID_OTHER_EVENT:
        /* Wrong at every delivery: refused, not a store failure to retry. */
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                     "event %s: the id is another event's (of another device or source)", id);
        return FALSE;
      case ID_FREE:
        break;
      }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

char *
vh_events_emit (VigilHost *host, const char *source, const char *type,
                const char *device_id, guint payload_version, JsonObject *payload,
                GError **error)
{
  g_autofree char *id = g_uuid_string_random ();

  g_return_val_if_fail (host != NULL && vh_context (host)->events != NULL, NULL);
  if (!chain_allows (host, source, type, error)
      || !store_event (host, id, source, type, device_id, payload_version, payload, NULL, NULL,
                       error))
    return NULL;
  if (g_private_get (&current_chain) != NULL)
    chain_store (vh_context (host)->events, vh_context (host)->events->event_chains, id,
                 g_private_get (&current_chain));
  return g_steal_pointer (&id);
}

guint
vh_events_record_many (VigilHost *host, guint n, const VhEventRecord *records,
                       gboolean *duplicates, GError **errors)
{
  VhStore *store = vh_context (host)->store;
  g_autofree gboolean *stored = g_new0 (gboolean, MAX (n, 1));
  g_autoptr (GError) failure = NULL;
  sqlite3_stmt *insert = NULL;
  guint count = 0;
  sqlite3 *db;

  g_return_val_if_fail (host != NULL && vh_context (host)->events != NULL, 0);
  if (n == 0)
    return 0;
  /* The store's lock is recursive: store_event takes it again inside. */
  db = vh_store_lock (store);
  /* Durable: the transport acknowledges the events once this returns. */
  if (vh_store_begin (db, TRUE, &failure))
    {
      for (guint i = 0; i < n; i++)
        {
          const VhEventRecord *r = &records[i];
          gboolean dup = FALSE;

          /* One INSERT each: a refused one is undone by SQLite alone (a
           * statement's constraint failure keeps the transaction). */
          stored[i] = store_event (host, r->id, r->source, r->type, r->device_id,
                                   r->payload_version, r->payload, &dup, &insert,
                                   errors ? &errors[i] : NULL);
          if (duplicates != NULL)
            duplicates[i] = stored[i] && dup;
          if (sqlite3_get_autocommit (db))
            {
              /* SQLite ended the transaction itself (an I/O error, a full
               * disk): what follows would commit one by one. */
              g_set_error (&failure, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                           "storing events: the transaction was rolled back (%s)",
                           sqlite3_errmsg (db));
              break;
            }
        }
      sqlite3_finalize (insert);
      if (failure == NULL && !vh_store_commit (db, TRUE, &failure))
        vh_store_rollback (db, TRUE);
      else if (failure != NULL)
        vh_store_rollback (db, TRUE);
    }
  vh_store_unlock (store);
  for (guint i = 0; i < n; i++)
    {
      if (failure != NULL)
        {
          /* Nothing of the batch is stored: each may be tried again. */
          stored[i] = FALSE;
          if (duplicates != NULL)
            duplicates[i] = FALSE;
          if (errors != NULL)
            {
              g_clear_error (&errors[i]);
              errors[i] = g_error_copy (failure);
            }
        }
      if (stored[i])
        count++;
    }
  return count;
}

void
vh_events_set_handlers (VigilHost *host, gboolean enabled)
{
  g_return_if_fail (host != NULL && vh_context (host)->events != NULL);
  vh_context (host)->events->handlers_off = !enabled;
}

/* ---- rows ------------------------------------------------------------ */

#define EVENT_COLUMNS "seq, id, time_us, type, device_id, source, payload_version, payload"

typedef struct {
  gint64      seq;
  VigilEvent  event;
} StoredEvent;

static void
stored_event_free (StoredEvent *stored)
{
  if (stored == NULL)
    return;
  g_free ((char *) stored->event.id);
  g_free ((char *) stored->event.type);
  g_free ((char *) stored->event.device_id);
  g_free ((char *) stored->event.source);
  g_clear_pointer (&stored->event.payload, json_object_unref);
  g_free (stored);
}

static JsonObject *
parse_stored_payload (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (text != NULL && json_parser_load_from_data (parser, text, -1, NULL)
      && (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
    return json_object_ref (json_node_get_object (root));
  return json_object_new ();
}

static StoredEvent *
row_to_event (sqlite3_stmt *stmt)
{
  StoredEvent *stored = g_new0 (StoredEvent, 1);

  stored->seq = sqlite3_column_int64 (stmt, 0);
  stored->event.struct_size = sizeof (VigilEvent);
  stored->event.id = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  stored->event.time_us = sqlite3_column_int64 (stmt, 2);
  stored->event.type = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  stored->event.device_id = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
  stored->event.source = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
  stored->event.payload_version = (guint) sqlite3_column_int64 (stmt, 6);
  stored->event.payload = parse_stored_payload ((const char *) sqlite3_column_text (stmt, 7));
  return stored;
}

/* Runs @sql (with up to four bound values described by @binds) and
 * collects the rows as StoredEvents. */
typedef struct {
  gint64      ints[3];
  guint       n_ints;
  const char *texts[3];
  guint       n_texts;
} Binds;

/* Runs @sql (with the values @binds describes) and hands each row, as an
 * event, to @func, one at a time, under the store's lock. */
typedef void (*RowFunc) (StoredEvent *stored, gpointer user_data);

static gboolean
each_event (VigilHost *host, const char *sql, const Binds *binds, RowFunc func,
            gpointer user_data, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = NULL;
  int rc, i = 1;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "reading events", error);
      vh_store_unlock (vh_context (host)->store);
      return FALSE;
    }
  for (guint t = 0; t < binds->n_texts; t++)
    sqlite3_bind_text (stmt, i++, binds->texts[t], -1, SQLITE_TRANSIENT);
  for (guint n = 0; n < binds->n_ints; n++)
    sqlite3_bind_int64 (stmt, i++, binds->ints[n]);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    func (row_to_event (stmt), user_data);
  if (rc != SQLITE_DONE)
    vh_store_set_error (db, "reading events", error);
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return rc == SQLITE_DONE;
}

static void
collect_row (StoredEvent *stored, gpointer rows)
{
  g_ptr_array_add (rows, stored);
}

/* The rows of @sql, collected as StoredEvents. */
static GPtrArray *
query_events (VigilHost *host, const char *sql, const Binds *binds, GError **error)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) stored_event_free);

  if (!each_event (host, sql, binds, collect_row, rows, error))
    return NULL;
  return g_steal_pointer (&rows);
}

JsonObject *
vh_event_to_json (const VigilEvent *event)
{
  JsonObject *o = json_object_new ();
  g_autofree char *time = vh_iso_time (event->time_us);

  json_object_set_string_member (o, "id", event->id);
  json_object_set_string_member (o, "time", time);
  json_object_set_int_member (o, "time_us", event->time_us);
  json_object_set_string_member (o, "type", event->type);
  if (event->device_id)
    json_object_set_string_member (o, "device", event->device_id);
  else
    json_object_set_null_member (o, "device");
  json_object_set_string_member (o, "source", event->source);
  json_object_set_int_member (o, "payload_version", event->payload_version);
  json_object_set_object_member (o, "payload", json_object_ref (event->payload));
  return o;
}

static JsonArray *
rows_to_json (GPtrArray *rows)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < rows->len; i++)
    {
      StoredEvent *stored = rows->pdata[i];
      json_array_add_object_element (array, vh_event_to_json (&stored->event));
    }
  return array;
}

/* ---- listing --------------------------------------------------------- */

typedef struct {
  VigilHost   *host;
  VhEventsFunc func;
  gpointer     user_data;
} Each;

static void
hand_over (StoredEvent *stored, gpointer user_data)
{
  Each *each = user_data;
  g_autoptr (JsonObject) event = vh_event_to_json (&stored->event);

  stored_event_free (stored);
  each->func (each->host, event, each->user_data);
}

gboolean
vh_events_foreach (VigilHost *host, gint64 since_us, const char *type,
                   const char *device_id, guint limit, VhEventsFunc func,
                   gpointer user_data, GError **error)
{
  g_autoptr (GString) sql = g_string_new ("SELECT " EVENT_COLUMNS " FROM events WHERE 1");
  Binds binds = { 0 };
  Each each = { host, func, user_data };
  gboolean ok;

  if (type != NULL && g_str_has_suffix (type, ".*"))
    {
      /* A prefix, compared literally: LIKE would treat '_' as a wildcard. */
      g_string_append_printf (sql, " AND substr(type, 1, %d) = ?", (int) strlen (type) - 1);
      binds.texts[binds.n_texts++] = g_strndup (type, strlen (type) - 1);
    }
  else if (type != NULL)
    {
      g_string_append (sql, " AND type = ?");
      binds.texts[binds.n_texts++] = g_strdup (type);
    }
  if (device_id != NULL)
    {
      g_string_append (sql, " AND device_id = ?");
      binds.texts[binds.n_texts++] = g_strdup (device_id);
    }
  g_string_append (sql, " AND time_us >= ?");
  binds.ints[binds.n_ints++] = since_us;
  /* The newest @limit, handed over oldest first: the inner query picks
   * them, SQLite's sorter (which spills to a temporary file rather than
   * grow) puts them back in time order. Rows are read one at a time. */
  if (limit > 0)
    {
      g_string_prepend (sql, "SELECT " EVENT_COLUMNS " FROM (");
      g_string_append (sql, " ORDER BY time_us DESC, seq DESC LIMIT ?)");
      binds.ints[binds.n_ints++] = limit;
    }
  g_string_append (sql, " ORDER BY time_us, seq");
  ok = each_event (host, sql->str, &binds, hand_over, &each, error);
  for (guint t = 0; t < binds.n_texts; t++)
    g_free ((char *) binds.texts[t]);
  return ok;
}

static void
add_event (VigilHost *host, JsonObject *event, gpointer array)
{
  json_array_add_object_element (array, json_object_ref (event));
}

JsonArray *
vh_events_list (VigilHost *host, gint64 since_us, const char *type,
                const char *device_id, guint limit, GError **error)
{
  g_autoptr (JsonArray) events = json_array_new ();

  if (!vh_events_foreach (host, since_us, type, device_id, limit, add_event, events, error))
    return NULL;
  return g_steal_pointer (&events);
}

gint64
vh_events_last_seq (VigilHost *host)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = NULL;
  gint64 seq = 0;

  if (sqlite3_prepare_v2 (db, "SELECT coalesce(max(seq), 0) FROM events", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    seq = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return seq;
}

JsonArray *
vh_events_after (VigilHost *host, gint64 seq, GError **error)
{
  Binds binds = { .ints = { seq }, .n_ints = 1 };
  g_autoptr (GPtrArray) rows = query_events (host, "SELECT " EVENT_COLUMNS
                                             " FROM events WHERE seq > ? ORDER BY seq",
                                             &binds, error);
  return rows ? rows_to_json (rows) : NULL;
}

/* ---- retention ------------------------------------------------------- */

guint
vh_events_purge (VigilHost *host)
{
  VhConfig *config = vh_registry_config (host);
  guint days = config ? vh_config_event_retention_days (config) : 0;
  gint64 cutoff = vh_now (host) - (gint64) days * 86400 * G_USEC_PER_SEC;
  g_autoptr (GError) error = NULL;
  sqlite3 *db;
  guint count = 0;

  if (days == 0)
    return 0;
  db = vh_store_lock (vh_context (host)->store);
  /* An event not yet dispatched is work still owed to a handler. */
  if (vh_sql_exec (db, "DELETE FROM events WHERE dispatched = 1 AND time_us < ?",
                   &error, "i", cutoff))
    count = (guint) sqlite3_changes (db);
  else
    vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
  vh_store_unlock (vh_context (host)->store);
  return count;
}

/* ---- dispatch -------------------------------------------------------- */

/* TRUE when this process won the event (another may be dispatching too). */
static gboolean
claim (VigilHost *host, gint64 seq)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = NULL;
  gboolean won = FALSE;

  if (sqlite3_prepare_v2 (db, "UPDATE events SET dispatched = 1 WHERE seq = ? AND dispatched = 0",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, seq);
      won = sqlite3_step (stmt) == SQLITE_DONE && sqlite3_changes (db) == 1;
    }
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return won;
}

static void
deliver (VigilHost *host, const VigilEvent *event)
{
  g_autoptr (GPtrArray) handlers = NULL;
  Chain *cause = chain_lookup (vh_context (host)->events,
                               vh_context (host)->events->event_chains, event->id, TRUE);
  guint depth = cause ? cause->depth : 0;

  chain_free (cause);
  if (g_str_equal (event->type, "host.database_updated"))
    vh_tasks_trigger (host, VH_SCHEDULE_AFTER_UPDATE);

  if (vh_context (host)->events->handlers_off)
    return;
  handlers = vh_registry_handlers_for (host, event->type);
  for (guint i = 0; handlers != NULL && i < handlers->len; i++)
    {
      const VhHandler *h = handlers->pdata[i];
      g_autofree char *via = g_strdup_printf ("the handler of plugin %s for %s",
                                              vh_plugin_id (h->plugin), event->type);

      /* What the handler emits or creates is one link further. */
      g_private_replace (&current_chain, chain_new (depth + 1, via));
      h->handler.handler (event, h->handler.user_data);
      vh_events_chain_leave ();
    }
}

/* Whether delivering @event does anything: a handler answers its type,
 * or the host reacts to it. */
static gboolean
answered (VigilHost *host, const VigilEvent *event)
{
  g_autoptr (GPtrArray) handlers = NULL;

  if (g_str_equal (event->type, "host.database_updated"))
    return TRUE;
  if (vh_context (host)->events->handlers_off)
    return FALSE;
  handlers = vh_registry_handlers_for (host, event->type);
  return handlers->len > 0;
}

/* The events of @rows nothing answers only need marking dispatched: that
 * is done for all of them in one transaction (one commit rather than one
 * per event, which at an agents' flood of events was most of the
 * console's work). Their slots in @rows are emptied. Returns how many this
 * process claimed. */
static guint
claim_unanswered (VigilHost *host, GPtrArray *rows)
{
  VhStore *store = vh_context (host)->store;
  g_autoptr (GError) error = NULL;
  sqlite3 *db;
  guint count = 0, quiet = 0;

  for (guint i = 0; i < rows->len; i++)
    if (!answered (host, &((StoredEvent *) rows->pdata[i])->event))
      quiet++;
  if (quiet < 2)
    return 0;   /* one by one below, as before */
  db = vh_store_lock (store);
  if (!vh_store_begin (db, FALSE, &error))
    {
      vh_store_unlock (store);
      return 0;
    }
  for (guint i = 0; i < rows->len; i++)
    {
      StoredEvent *stored = rows->pdata[i];

      if (answered (host, &stored->event))
        continue;
      if (claim (host, stored->seq))
        count++;
      /* What a chain noted for it is not needed any more. */
      chain_free (chain_lookup (vh_context (host)->events,
                                vh_context (host)->events->event_chains, stored->event.id, TRUE));
      stored_event_free (g_steal_pointer (&rows->pdata[i]));
    }
  if (!vh_store_commit (db, FALSE, &error))
    {
      /* Nothing was marked: they are claimed again at the next round. */
      vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
      count = 0;
    }
  vh_store_unlock (store);
  return count;
}

guint
vh_events_dispatch (VigilHost *host)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  Binds binds = { .ints = { DISPATCH_BATCH }, .n_ints = 1 };
  guint count = 0;

  g_return_val_if_fail (vh_context (host)->events != NULL, 0);
  if (vh_context (host)->events->dispatching > 0)
    return 0;
  rows = query_events (host, "SELECT " EVENT_COLUMNS " FROM events WHERE dispatched = 0"
                       " ORDER BY seq LIMIT ?", &binds, &error);
  if (rows == NULL)
    {
      vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
      return 0;
    }
  vh_context (host)->events->dispatching++;
  count = claim_unanswered (host, rows);
  for (guint i = 0; i < rows->len; i++)
    {
      StoredEvent *stored = rows->pdata[i];
      if (stored == NULL || !claim (host, stored->seq))
        continue;
      deliver (host, &stored->event);
      count++;
    }
  vh_context (host)->events->dispatching--;
  return count;
}
