/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * process.kill: ends the processes named by PID, by executable path or by
 * the executable's SHA-256, optionally with all their descendants. Each
 * target is signalled through a pidfd opened after it was matched and
 * re-checked (same start time, same executable), so a PID reused in
 * between is never hit. PID 1 and the agent's own process are never
 * killed, whatever matches. On a lab device (a root other than "/") only
 * processes whose executable lies inside the root are seen, and paths are
 * relative to that root. The result lists what was killed and what was
 * not, with the reason.
 */
#include "resp-engine.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>
#include <vigil/util/settings.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* How long a signalled process is given to exit before the result says
 * it has not (yet): the run does not hang on a process stuck in the
 * kernel. */
#define EXIT_WAIT_MS 10000

static const char *const signals[] = { "KILL", "TERM", NULL };

const VigilField resp_kill_params[RESP_N_KILL_PARAMS] = {
  { .key = "pid", .type = VIGIL_FIELD_INT, .has_range = TRUE, .min = 1, .max = 4194304,
    .description = "The process to end, by PID." },
  { .key = "path", .type = VIGIL_FIELD_PATH,
    .description = "End every process running this executable (absolute, on the device)." },
  { .key = "sha256", .type = VIGIL_FIELD_STRING,
    .description = "End every process whose executable has this SHA-256 (64 hex digits)." },
  { .key = "children", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Also end every descendant of each matching process." },
  { .key = "signal", .type = VIGIL_FIELD_ENUM, .default_json = "\"KILL\"",
    .enum_values = signals,
    .description = "KILL ends at once; TERM asks the process to exit." },
};

static gboolean
is_sha256 (const char *s)
{
  if (strlen (s) != 64)
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isxdigit (*s))
      return FALSE;
  return TRUE;
}

char *
resp_kill_check (JsonObject *params, const char **key)
{
  static const char *const selectors[] = { "pid", "path", "sha256" };
  const char *sha;
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (selectors); i++)
    if (json_object_has_member (params, selectors[i])
        && !json_object_get_null_member (params, selectors[i]))
      n++;
  if (n != 1)
    {
      *key = "pid";
      return g_strdup ("give exactly one of pid, path and sha256");
    }
  sha = json_object_has_member (params, "sha256")
          ? json_object_get_string_member_with_default (params, "sha256", NULL) : NULL;
  if (sha != NULL && !is_sha256 (sha))
    {
      *key = "sha256";
      return g_strdup ("must be 64 hexadecimal digits");
    }
  if (json_object_has_member (params, "pid")
      && json_object_get_int_member_with_default (params, "pid", 0) == 1)
    {
      *key = "pid";
      return g_strdup ("PID 1 (init) is never killed");
    }
  return NULL;
}

/* The executable as the device sees it: "/usr/bin/x" for "ROOT/usr/bin/x";
 * NULL when it lies outside the device's root. */
static const char *
device_path (const char *root, const char *exe)
{
  gsize n = strlen (root);

  if (exe == NULL)
    return NULL;
  if (strcmp (root, "/") == 0)
    return exe;
  if (strncmp (exe, root, n) == 0 && exe[n] == '/')
    return exe + n;
  return NULL;
}

typedef struct {
  const char *root;
  JsonArray  *killed;
  JsonArray  *not_killed;
  int         sig;
  gboolean    all;
} Kill;

static void
refuse (Kill *k, const RespProc *p, const char *reason)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "pid", p->pid);
  if (p->exe != NULL)
    json_object_set_string_member (o, "exe", p->exe);
  json_object_set_string_member (o, "reason", reason);
  json_array_add_object_element (k->not_killed, o);
  k->all = FALSE;
}

/* Signals @p through a pidfd after checking it is still the process that
 * matched (the same start time: a reused PID has another; and, when it
 * matched by its executable, still that executable), then waits (bounded)
 * for it to exit. A descendant or a PID target may exec meanwhile: it is
 * still the process asked for. */
static void
kill_one (Kill *k, const RespProc *p, gboolean by_exe, GCancellable *cancellable)
{
  RespProc now = { 0 };
  g_autofree char *why = NULL;
  struct pollfd pfd;
  JsonObject *o;
  int fd;

  if (p->pid == 1)
    return refuse (k, p, "PID 1 (init) is never killed");
  if (p->pid == getpid ())
    return refuse (k, p, "the agent's own process is never killed");
  fd = (int) syscall (SYS_pidfd_open, p->pid, 0);
  if (fd < 0)
    return refuse (k, p, errno == ESRCH ? "it exited before it was signalled"
                                        : g_strerror (errno));
  if (!resp_proc_read (p->pid, &now, NULL) || now.start_time != p->start_time
      || (by_exe && g_strcmp0 (now.exe, p->exe) != 0))
    {
      resp_proc_clear (&now);
      close (fd);
      return refuse (k, p, by_exe ? "it exited or ran another program before it was signalled"
                                  : "it exited before it was signalled (its PID was reused)");
    }
  resp_proc_clear (&now);
  if (syscall (SYS_pidfd_send_signal, fd, k->sig, NULL, 0) != 0)
    {
      why = g_strdup_printf ("signal refused: %s", g_strerror (errno));
      close (fd);
      return refuse (k, p, why);
    }
  /* A pidfd polls readable once the process has exited. SIGKILL cannot be
   * caught; a process in uninterruptible sleep still takes a while. */
  pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
  for (int waited = 0; waited < EXIT_WAIT_MS / 100 && !g_cancellable_is_cancelled (cancellable);
       waited++)
    if (poll (&pfd, 1, 100) != 0)
      break;
  o = json_object_new ();
  json_object_set_int_member (o, "pid", p->pid);
  if (p->exe != NULL)
    json_object_set_string_member (o, "exe", device_path (k->root, p->exe));
  json_object_set_boolean_member (o, "exited", (pfd.revents & POLLIN) != 0);
  json_array_add_object_element (k->killed, o);
  close (fd);
}

static gboolean
matches (JsonObject *params, const char *root, const RespProc *p)
{
  const char *exe = device_path (root, p->exe);

  if (json_object_has_member (params, "pid") && !json_object_get_null_member (params, "pid"))
    return p->pid == json_object_get_int_member (params, "pid")
           && (strcmp (root, "/") == 0 || exe != NULL);
  if (exe == NULL)
    return FALSE;
  if (json_object_has_member (params, "path") && !json_object_get_null_member (params, "path"))
    return strcmp (exe, json_object_get_string_member (params, "path")) == 0;
  {
    char proc_exe[64];
    g_autofree char *sum = NULL;

    g_snprintf (proc_exe, sizeof proc_exe, "/proc/%d/exe", p->pid);
    sum = resp_file_sha256 (proc_exe, NULL);
    return sum != NULL
           && g_ascii_strcasecmp (sum, json_object_get_string_member (params, "sha256")) == 0;
  }
}

/* Adds the descendants of procs[i] (by parent PID), depth first, marking
 * each once. */
/* Why a process is to be killed. */
enum { NOT_CHOSEN = 0, CHOSEN_BY_EXE, CHOSEN_AS_ASKED };

static void
add_descendants (GArray *procs, guint i, guint8 *chosen)
{
  int pid = g_array_index (procs, RespProc, i).pid;

  for (guint j = 0; j < procs->len; j++)
    if (!chosen[j] && g_array_index (procs, RespProc, j).ppid == pid)
      {
        chosen[j] = CHOSEN_AS_ASKED;
        add_descendants (procs, j, chosen);
      }
}

JsonObject *
resp_kill (const char *root, JsonObject *params, GCancellable *cancellable,
           gboolean *all_killed, GError **error)
{
  g_autoptr (GArray) procs = resp_proc_list ();
  g_autofree guint8 *chosen = g_new0 (guint8, procs->len + 1);
  g_autofree char *sig = vigil_field_dup_string (&resp_kill_params[4], params);
  gboolean children = json_object_get_boolean_member_with_default (params, "children", FALSE);
  const char *key = NULL;
  g_autofree char *problem = resp_kill_check (params, &key);
  Kill k = { .root = root, .all = TRUE };
  JsonObject *result;
  guint matched = 0;

  if (problem != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "params.%s: %s", key, problem);
      return NULL;
    }
  k.sig = g_strcmp0 (sig, "TERM") == 0 ? SIGTERM : SIGKILL;
  for (guint i = 0; i < procs->len; i++)
    if (!chosen[i] && matches (params, root, &g_array_index (procs, RespProc, i)))
      {
        chosen[i] = json_object_has_member (params, "pid")
                        && !json_object_get_null_member (params, "pid")
                      ? CHOSEN_AS_ASKED : CHOSEN_BY_EXE;
        matched++;
        if (children)
          add_descendants (procs, i, chosen);
      }
  k.killed = json_array_new ();
  k.not_killed = json_array_new ();
  /* Descendants after their ancestors would let a parent respawn them;
   * signalling in /proc order (ascending PID) is close enough for SIGKILL,
   * which the parent cannot react to. */
  for (guint i = 0; i < procs->len; i++)
    if (chosen[i] != NOT_CHOSEN)
      kill_one (&k, &g_array_index (procs, RespProc, i), chosen[i] == CHOSEN_BY_EXE, cancellable);
  result = json_object_new ();
  json_object_set_int_member (result, "matched", matched);
  json_object_set_array_member (result, "killed", k.killed);
  json_object_set_array_member (result, "not_killed", k.not_killed);
  *all_killed = matched > 0 && k.all;
  return result;
}
