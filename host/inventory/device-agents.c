/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the console keeps of each device's agent (issue #13): its
 * enrollment (pending with the one-time token's hash and expiry, enrolled,
 * or revoked) and what its last heartbeat said (when, agent version,
 * plugins, interval, online or stopping). A heartbeat is untrusted input
 * from the device: it is checked member by member before it is stored, and
 * only an enrolled device's heartbeat is stored at all.
 */
#include "inventory.h"

#include <string.h>

static const VhMigration agent_migrations[] = {
  { 1,
    "CREATE TABLE device_agents ("
    "  device_id     TEXT PRIMARY KEY,"
    "  state         TEXT NOT NULL,"        /* pending | enrolled | revoked */
    "  enrollment    TEXT NOT NULL,"
    "  token_sha256  TEXT,"                 /* pending only */
    "  expires       INTEGER,"              /* pending: Unix seconds */
    "  enrolled_at   INTEGER,"              /* microseconds */
    "  last_seen     INTEGER,"              /* console clock, microseconds */
    "  agent_version TEXT,"
    "  plugins       TEXT,"                 /* JSON array */
    "  interval_s    INTEGER,"
    "  status        TEXT);" },
};

/* Bounds on what a heartbeat may carry. */
#define MAX_PLUGINS      256
#define MAX_NAME         128
#define MAX_VERSION      64
#define MAX_INTERVAL_S   3600
/* A device is online while its last "online" heartbeat is younger than
 * this many of its own intervals: one lost heartbeat is no outage. */
#define MISSED_HEARTBEATS 3

gboolean
vh_device_agents_init (VigilHost *host, GError **error)
{
  return vh_store_migrate (vh_context (host)->store, "device_agents", agent_migrations,
                           G_N_ELEMENTS (agent_migrations), error);
}

static sqlite3_stmt *
prepare (sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "device agents", error);
      return NULL;
    }
  return stmt;
}

/* Runs one prepared write in its own transaction. Returns the number of
 * rows changed, or -1 with @error set. */
static gint64
write_stmt (sqlite3 *db, sqlite3_stmt *stmt, gboolean durable, GError **error)
{
  int rc;
  gint64 changed;

  if (!vh_store_begin (db, durable, error))
    {
      sqlite3_finalize (stmt);
      return -1;
    }
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      vh_store_set_error (db, "cannot change the device agents", error);
      vh_store_rollback (db, durable);
      return -1;
    }
  changed = sqlite3_changes (db);
  if (!vh_store_commit (db, durable, error))
    return -1;
  return changed;
}

static gboolean
device_known (VigilHost *host, const char *id, GError **error)
{
  g_autoptr (JsonObject) d = vh_inventory_device (host, id, error);
  return d != NULL;
}

gboolean
vh_device_agent_begin (VigilHost *host, const char *id, const char *enrollment,
                       const char *token_sha256, gint64 expires, GError **error)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  gint64 changed = -1;

  if (enrollment == NULL || token_sha256 == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "an enrollment needs its id and its token's hash");
      return FALSE;
    }
  if (!device_known (host, id, error))
    return FALSE;
  db = vh_store_lock (vh_context (host)->store);
  /* A new enrollment replaces whatever the device had: its old
   * certificate's identity is no longer the current one. */
  stmt = prepare (db, "INSERT OR REPLACE INTO device_agents "
                      "(device_id, state, enrollment, token_sha256, expires) "
                      "VALUES (?, 'pending', ?, ?, ?)", error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, enrollment, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, token_sha256, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 4, expires);
      changed = write_stmt (db, stmt, TRUE, error);
    }
  vh_store_unlock (vh_context (host)->store);
  return changed >= 0;
}

gboolean
vh_device_agent_complete (VigilHost *host, const char *id, const char *enrollment,
                          GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt;
  gint64 changed = -1;

  /* Only the pending enrollment it names, once: the token is spent by
   * the first process that completes it. */
  stmt = prepare (db, "UPDATE device_agents SET state = 'enrolled', token_sha256 = NULL, "
                      "enrolled_at = ? "
                      "WHERE device_id = ? AND enrollment = ? AND state = 'pending'", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, vh_now (host));
      sqlite3_bind_text (stmt, 2, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, enrollment, -1, SQLITE_TRANSIENT);
      changed = write_stmt (db, stmt, TRUE, error);
    }
  vh_store_unlock (vh_context (host)->store);
  if (changed == 0)
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                 "device '%s' has no pending enrollment %s", id, enrollment);
  return changed > 0;
}

gboolean
vh_device_agent_revoke (VigilHost *host, const char *id, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt;
  gint64 changed = -1;

  stmt = prepare (db, "UPDATE device_agents SET state = 'revoked', token_sha256 = NULL, "
                      "expires = NULL, status = NULL WHERE device_id = ?", error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
      changed = write_stmt (db, stmt, TRUE, error);
    }
  vh_store_unlock (vh_context (host)->store);
  if (changed == 0)
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                 "device '%s' has no agent (never enrolled)", id);
  return changed > 0;
}

gboolean
vh_device_agent_forget (VigilHost *host, const char *id, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, "DELETE FROM device_agents WHERE device_id = ?", error);
  gint64 changed = -1;

  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
      changed = write_stmt (db, stmt, TRUE, error);
    }
  vh_store_unlock (vh_context (host)->store);
  return changed >= 0;
}

/* ---- heartbeats ------------------------------------------------------- */

static gboolean
heartbeat_error (const char *id, GError **error, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
heartbeat_error (const char *id, GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "heartbeat of device '%s': %s", id, what);
  return FALSE;
}

/* A short printable string member, or NULL. */
static const char *
short_string (JsonObject *o, const char *member, gsize max)
{
  JsonNode *n = json_object_get_member (o, member);
  const char *s;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  s = json_node_get_string (n);
  if (*s == '\0' || strlen (s) > max || !g_utf8_validate (s, -1, NULL))
    return NULL;
  for (const char *p = s; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return NULL;
  return s;
}

/* Checks the plugin list and returns it as JSON text with only the members
 * the console keeps. */
static char *
plugins_text (const char *id, JsonObject *heartbeat, GError **error)
{
  JsonNode *n = json_object_get_member (heartbeat, "plugins");
  JsonArray *plugins;
  g_autoptr (JsonArray) kept = json_array_new ();
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_ARRAY);

  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return heartbeat_error (id, error, "member 'plugins' must be an array"), NULL;
  plugins = json_node_get_array (n);
  if (json_array_get_length (plugins) > MAX_PLUGINS)
    return heartbeat_error (id, error, "more than %d plugins", MAX_PLUGINS), NULL;
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonNode *e = json_array_get_element (plugins, i);
      JsonObject *p = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *name = p ? short_string (p, "name", MAX_NAME) : NULL;
      const char *version = p ? short_string (p, "version", MAX_VERSION) : NULL;
      JsonObject *k;

      if (name == NULL || version == NULL)
        return heartbeat_error (id, error, "plugins[%u] needs a 'name' (at most %d "
                                "characters) and a 'version' (at most %d)", i,
                                MAX_NAME, MAX_VERSION), NULL;
      k = json_object_new ();
      json_object_set_string_member (k, "name", name);
      json_object_set_string_member (k, "version", version);
      json_array_add_object_element (kept, k);
    }
  json_node_set_array (root, kept);
  return json_to_string (root, FALSE);
}

gboolean
vh_device_agent_heartbeat (VigilHost *host, const char *id, JsonObject *heartbeat,
                           GError **error)
{
  const char *version = short_string (heartbeat, "agent_version", MAX_VERSION);
  const char *status = short_string (heartbeat, "status", 16);
  JsonNode *interval = json_object_get_member (heartbeat, "interval");
  g_autofree char *plugins = NULL;
  sqlite3 *db;
  sqlite3_stmt *stmt;
  gint64 seconds = 0, changed = -1;

  if (version == NULL)
    return heartbeat_error (id, error, "member 'agent_version' must be a string of "
                            "1 to %d printable characters", MAX_VERSION);
  if (status == NULL || (!g_str_equal (status, "online") && !g_str_equal (status, "stopping")))
    return heartbeat_error (id, error, "member 'status' must be \"online\" or \"stopping\"");
  if (interval != NULL && JSON_NODE_HOLDS_VALUE (interval) &&
      json_node_get_value_type (interval) == G_TYPE_INT64)
    seconds = json_node_get_int (interval);
  if (seconds < 1 || seconds > MAX_INTERVAL_S)
    return heartbeat_error (id, error, "member 'interval' must be whole seconds, 1 to %d",
                            MAX_INTERVAL_S);
  plugins = plugins_text (id, heartbeat, error);
  if (plugins == NULL)
    return FALSE;

  db = vh_store_lock (vh_context (host)->store);
  stmt = prepare (db, "UPDATE device_agents SET last_seen = ?, agent_version = ?, "
                      "plugins = ?, interval_s = ?, status = ? "
                      "WHERE device_id = ? AND state = 'enrolled'", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, vh_now (host));
      sqlite3_bind_text (stmt, 2, version, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, plugins, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 4, seconds);
      sqlite3_bind_text (stmt, 5, status, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 6, id, -1, SQLITE_TRANSIENT);
      /* Heartbeats may be lost by design: no fsync for them. */
      changed = write_stmt (db, stmt, FALSE, error);
    }
  vh_store_unlock (vh_context (host)->store);
  if (changed == 0)
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                 "device '%s' is not enrolled: heartbeat ignored", id);
  return changed > 0;
}

/* ---- reading ---------------------------------------------------------- */

#define AGENT_COLUMNS \
  "SELECT device_id, state, enrollment, token_sha256, expires, enrolled_at, " \
  "last_seen, agent_version, plugins, interval_s, status FROM device_agents"

static void
set_text_or_null (JsonObject *o, const char *member, sqlite3_stmt *stmt, int col)
{
  const char *s = (const char *) sqlite3_column_text (stmt, col);
  if (s != NULL)
    json_object_set_string_member (o, member, s);
  else
    json_object_set_null_member (o, member);
}

static void
set_int_or_null (JsonObject *o, const char *member, sqlite3_stmt *stmt, int col)
{
  if (sqlite3_column_type (stmt, col) == SQLITE_NULL)
    json_object_set_null_member (o, member);
  else
    json_object_set_int_member (o, member, sqlite3_column_int64 (stmt, col));
}

static JsonObject *
agent_from_row (VigilHost *host, sqlite3_stmt *stmt)
{
  JsonObject *o = json_object_new ();
  const char *state = (const char *) sqlite3_column_text (stmt, 1);
  const char *plugins = (const char *) sqlite3_column_text (stmt, 8);
  const char *status = (const char *) sqlite3_column_text (stmt, 10);
  gint64 last_seen = sqlite3_column_int64 (stmt, 6);
  gint64 interval = sqlite3_column_int64 (stmt, 9);
  g_autoptr (JsonNode) list = plugins ? json_from_string (plugins, NULL) : NULL;

  set_text_or_null (o, "device", stmt, 0);
  set_text_or_null (o, "state", stmt, 1);
  set_text_or_null (o, "enrollment", stmt, 2);
  set_text_or_null (o, "token_sha256", stmt, 3);
  set_int_or_null (o, "expires", stmt, 4);
  set_int_or_null (o, "enrolled_at", stmt, 5);
  set_int_or_null (o, "last_seen", stmt, 6);
  set_text_or_null (o, "agent_version", stmt, 7);
  if (list != NULL && JSON_NODE_HOLDS_ARRAY (list))
    json_object_set_array_member (o, "plugins", json_array_ref (json_node_get_array (list)));
  else
    json_object_set_array_member (o, "plugins", json_array_new ());
  set_int_or_null (o, "heartbeat_interval", stmt, 9);
  json_object_set_boolean_member (o, "online",
                                  g_strcmp0 (state, "enrolled") == 0 &&
                                  g_strcmp0 (status, "online") == 0 && interval > 0 &&
                                  vh_now (host) - last_seen
                                    <= MISSED_HEARTBEATS * interval * G_USEC_PER_SEC);
  return o;
}

JsonObject *
vh_device_agent (VigilHost *host, const char *id, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, AGENT_COLUMNS " WHERE device_id = ?", error);
  JsonObject *o = NULL;

  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        o = agent_from_row (host, stmt);
      else
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                     "device '%s' has no agent (never enrolled)", id ? id : "");
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return o;
}

JsonArray *
vh_device_agents (VigilHost *host, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, AGENT_COLUMNS " ORDER BY device_id", error);
  JsonArray *out = NULL;

  if (stmt != NULL)
    {
      out = json_array_new ();
      while (sqlite3_step (stmt) == SQLITE_ROW)
        json_array_add_object_element (out, agent_from_row (host, stmt));
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return out;
}
