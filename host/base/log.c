/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host's logger, behind vh_log() and the plugins' api->log. Warnings and
 * errors always reach stderr; info and debug only when verbose. When the
 * local machine's failure diagnosis is on, every message, debug included,
 * also goes to rotated trace files (trace.c). Messages are free text, so the
 * rule "never log a secret" is on the caller; as a last line of defence the
 * logger masks the password of any "scheme://user:password@" URI it sees,
 * since proxy URIs are the one secret-bearing string that travels widely.
 * Messages carry names from devices (file paths): their control characters
 * are escaped (vigil/util/text.h), so that a line on a terminal or in a
 * trace file is one line and drives nothing.
 */
#include "base.h"

#include <vigil/util/text.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct _VhLogger {
  GMutex    lock;
  gboolean  verbose;
  VhTrace  *trace;       /* NULL when failure diagnosis is off */
  char     *folder;      /* the trace config now in force */
  guint64   max_bytes;
  guint     max_files;
  gboolean  trace_failed; /* said once on stderr, not on every line */
};

static GRegex *
userinfo_regex (void)
{
  static GRegex *re;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      re = g_regex_new ("([a-zA-Z][a-zA-Z0-9+.-]*://[^/@\\s:]*):[^/@\\s]*@",
                        G_REGEX_OPTIMIZE, 0, NULL);
      g_once_init_leave (&once, 1);
    }
  return re;
}

static char *
redact (const char *message)
{
  /* Escaped first: the regex wants UTF-8, and escaped text is. */
  g_autofree char *escaped = vigil_text_escape (message);

  if (strstr (escaped, "://") == NULL)
    return g_steal_pointer (&escaped);
  return g_regex_replace (userinfo_regex (), escaped, -1, 0, "\\1:********@", 0, NULL);
}

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "ERROR";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "CRITICAL";
  if (level & G_LOG_LEVEL_WARNING)
    return "WARNING";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "MESSAGE";
  if (level & G_LOG_LEVEL_INFO)
    return "INFO";
  return "DEBUG";
}

static gboolean
always_shown (GLogLevelFlags level)
{
  return (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) != 0;
}

static void
write_trace (VhLogger *logger, const char *domain, GLogLevelFlags level,
             const char *message)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  g_autofree char *line = g_strdup_printf ("%s %u %s [%s] %s", stamp,
                                           (guint) getpid (), level_name (level),
                                           domain, message);
  g_autoptr (GError) error = NULL;

  if (!vh_trace_write (logger->trace, line, &error) && !logger->trace_failed)
    {
      logger->trace_failed = TRUE;
      fprintf (stderr, "vigil: WARNING [host] trace files: %s\n", error->message);
    }
}

void
vh_log (VigilHost *host, const char *domain, GLogLevelFlags level,
        const char *message)
{
  VhLogger *logger = host ? vh_context (host)->logger : NULL;
  g_autofree char *clean = redact (message ? message : "");

  if (domain == NULL)
    domain = "host";
  if (logger == NULL)
    {
      if (always_shown (level))
        fprintf (stderr, "vigil: %s [%s] %s\n", level_name (level), domain, clean);
      return;
    }
  g_mutex_lock (&logger->lock);
  if (always_shown (level) || logger->verbose)
    fprintf (stderr, "vigil: %s [%s] %s\n", level_name (level), domain, clean);
  if (logger->trace)
    write_trace (logger, domain, level, clean);
  g_mutex_unlock (&logger->lock);
}

gboolean
vh_logger_init (VigilHost *host, GError **error)
{
  const char *verbose = g_getenv ("VIGIL_VERBOSE");
  VhContext *ctx = vh_context (host);

  g_return_val_if_fail (ctx->logger == NULL, FALSE);

  ctx->logger = g_new0 (VhLogger, 1);
  g_mutex_init (&ctx->logger->lock);
  ctx->logger->verbose = verbose && *verbose && g_strcmp0 (verbose, "0") != 0;
  return TRUE;
}

void
vh_logger_free (VigilHost *host)
{
  VhLogger *logger = vh_context (host)->logger;

  if (logger == NULL)
    return;
  vh_context (host)->logger = NULL;
  g_clear_pointer (&logger->trace, vh_trace_close);
  g_free (logger->folder);
  g_mutex_clear (&logger->lock);
  g_free (logger);
}

void
vh_logger_set_verbose (VigilHost *host, gboolean verbose)
{
  VhLogger *logger = host ? vh_context (host)->logger : NULL;

  g_return_if_fail (logger != NULL);

  g_mutex_lock (&logger->lock);
  logger->verbose = verbose;
  g_mutex_unlock (&logger->lock);
}

gboolean
vh_logger_set_trace (VigilHost *host, const char *folder, guint64 max_bytes,
                     guint max_files, GError **error)
{
  VhLogger *logger;
  VhTrace *trace = NULL;

  g_return_val_if_fail (host && vh_context (host)->logger, FALSE);
  logger = vh_context (host)->logger;

  g_mutex_lock (&logger->lock);
  /* Unchanged settings keep the open file and its size count. */
  if (g_strcmp0 (folder, logger->folder) == 0 && max_bytes == logger->max_bytes
      && max_files == logger->max_files)
    {
      g_mutex_unlock (&logger->lock);
      return TRUE;
    }
  g_clear_pointer (&logger->trace, vh_trace_close);
  g_clear_pointer (&logger->folder, g_free);
  logger->trace_failed = FALSE;
  if (folder)
    trace = vh_trace_open (folder, "vigil", max_bytes, max_files, error);
  if (trace)
    {
      logger->trace = trace;
      logger->folder = g_strdup (folder);
      logger->max_bytes = max_bytes;
      logger->max_files = max_files;
    }
  g_mutex_unlock (&logger->lock);
  return folder == NULL || trace != NULL;
}
