/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet's JetStream layout and its use (see fleet-jetstream.h): the
 * streams, bucket and consumers, publishing with de-duplication, and
 * binding to the consumers the console made.
 */
#include "fleet-jetstream.h"
#include "fleet-common.h"
#include "fleet-subjects.h"

/* JetStream's "stream name already in use" (with another configuration). */
#define JS_STREAM_NAME_EXISTS 10058
#define JS_CONSUMER_NOT_FOUND 10014
/* "JetStream not enabled for account": for a moment after the broker
 * reloads its configuration (an enrollment, a revocation) JetStream is
 * re-enabled for the accounts, and requests meanwhile get this or no
 * responder at all. */
#define JS_NOT_ENABLED_FOR_ACCOUNT 10076
#define NS_PER_S              ((int64_t) 1000000000)
/* How long a request waits for JetStream to be back after a reload. */
#define JS_READY_TRIES        100
#define JS_READY_PAUSE_US     50000

/* Whether a failed JetStream request is the short gap after a reload,
 * worth asking again rather than failing an enrollment over. */
static gboolean
js_transient (natsStatus s, jsErrCode jerr)
{
  return s == NATS_NO_RESPONDERS || jerr == JS_NOT_ENABLED_FOR_ACCOUNT;
}

/* ---- the layout ---------------------------------------------------- */

static gboolean
consumer_ensure (jsCtx *js, const char *stream, const char *name,
                 const char *filter, jsDeliverPolicy deliver, GError **error)
{
  jsConsumerConfig cfg;
  jsConsumerInfo *ci = NULL;
  jsErrCode jerr = 0;
  natsStatus s;

  jsConsumerConfig_Init (&cfg);
  cfg.Durable = name;
  cfg.FilterSubject = filter;
  cfg.DeliverPolicy = deliver;
  cfg.AckPolicy = js_AckExplicit;
  cfg.AckWait = 60 * NS_PER_S;
  for (int tries = 0;; tries++)
    {
      jerr = 0;
      s = js_AddConsumer (&ci, js, stream, &cfg, NULL, &jerr);
      jsConsumerInfo_Destroy (ci);
      ci = NULL;
      if (s == NATS_OK || !js_transient (s, jerr) || tries + 1 >= JS_READY_TRIES)
        break;
      g_usleep (JS_READY_PAUSE_US);
    }
  if (s != NATS_OK) {
    g_autofree char *what = g_strdup_printf ("cannot create consumer %s on %s",
                                             name, stream);
    vigil_fleet_set_nats_error (error, s, jerr, what);
    return FALSE;
  }
  return TRUE;
}


static gboolean
stream_ensure (jsCtx *js, jsStreamConfig *cfg, GError **error)
{
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_AddStream (&si, js, cfg, NULL, &jerr);

  for (int tries = 1; s != NATS_OK && js_transient (s, jerr) && tries < JS_READY_TRIES; tries++)
    {
      g_usleep (JS_READY_PAUSE_US);
      jsStreamInfo_Destroy (si);
      si = NULL;
      jerr = 0;
      s = js_AddStream (&si, js, cfg, NULL, &jerr);
    }
  if (s != NATS_OK && jerr == JS_STREAM_NAME_EXISTS)
    s = js_UpdateStream (&si, js, cfg, NULL, &jerr);
  jsStreamInfo_Destroy (si);
  if (s != NATS_OK) {
    g_autofree char *what = g_strdup_printf ("cannot create stream %s",
                                             cfg->Name);
    vigil_fleet_set_nats_error (error, s, jerr, what);
    return FALSE;
  }
  return TRUE;
}

static gboolean
settings_bucket_ensure (jsCtx *js, GError **error)
{
  kvStore *kv = NULL;
  kvConfig cfg;
  natsStatus s;

  kvConfig_Init (&cfg);
  cfg.Bucket = VIGIL_FLEET_SETTINGS_BUCKET;
  cfg.History = 1;
  cfg.StorageType = js_FileStorage;
  s = js_CreateKeyValue (&kv, js, &cfg);
  kvStore_Destroy (kv);
  if (s != NATS_OK) {
    vigil_fleet_set_nats_error (error, s, 0, "cannot create the settings bucket");
    return FALSE;
  }
  return TRUE;
}

gboolean
vigil_fleet_layout_ensure (jsCtx *js, GError **error)
{
  const char *runs_subjects[] = { VIGIL_FLEET_RUNS_SUBJECTS };
  const char *reports_subjects[] = { VIGIL_FLEET_REPORTS_SUBJECTS };
  jsStreamConfig runs, reports;

  jsStreamConfig_Init (&runs);
  runs.Name = VIGIL_FLEET_STREAM_RUNS;
  runs.Subjects = runs_subjects;
  runs.SubjectsLen = 1;
  /* A run leaves the stream once its device acknowledged it. */
  runs.Retention = js_WorkQueuePolicy;
  runs.Storage = js_FileStorage;
  runs.Duplicates = VIGIL_FLEET_DUPLICATE_WINDOW_S * NS_PER_S;

  jsStreamConfig_Init (&reports);
  reports.Name = VIGIL_FLEET_STREAM_REPORTS;
  reports.Subjects = reports_subjects;
  reports.SubjectsLen = 1;
  reports.Retention = js_LimitsPolicy;
  reports.Storage = js_FileStorage;
  reports.Duplicates = VIGIL_FLEET_DUPLICATE_WINDOW_S * NS_PER_S;

  return stream_ensure (js, &runs, error) &&
         stream_ensure (js, &reports, error) &&
         consumer_ensure (js, VIGIL_FLEET_STREAM_REPORTS,
                          VIGIL_FLEET_CONSOLE_CONSUMER,
                          VIGIL_FLEET_REPORTS_SUBJECTS, js_DeliverAll, error) &&
         settings_bucket_ensure (js, error);
}

/* ---- per-device consumers ------------------------------------------ */

gboolean
vigil_fleet_device_consumers_ensure (jsCtx *js, const char *device_id,
                                     GError **error)
{
  g_autofree char *runs = NULL, *runs_subject = NULL;
  g_autofree char *settings = NULL, *settings_subject = NULL;

  if (!vigil_fleet_device_id_check (device_id, error))
    return FALSE;
  runs = vigil_fleet_consumer_runs (device_id);
  runs_subject = vigil_fleet_subject_run (device_id);
  settings = vigil_fleet_consumer_settings (device_id);
  settings_subject = vigil_fleet_subject_settings (device_id);
  return consumer_ensure (js, VIGIL_FLEET_STREAM_RUNS, runs, runs_subject,
                          js_DeliverAll, error) &&
         consumer_ensure (js, VIGIL_FLEET_STREAM_SETTINGS, settings,
                          settings_subject, js_DeliverLastPerSubject, error);
}

static gboolean
consumer_delete (jsCtx *js, const char *stream, const char *name,
                 GError **error)
{
  jsErrCode jerr = 0;
  natsStatus s = js_DeleteConsumer (js, stream, name, NULL, &jerr);

  if (s != NATS_OK && jerr != JS_CONSUMER_NOT_FOUND) {
    g_autofree char *what = g_strdup_printf ("cannot delete consumer %s on %s",
                                             name, stream);
    vigil_fleet_set_nats_error (error, s, jerr, what);
    return FALSE;
  }
  return TRUE;
}

gboolean
vigil_fleet_device_consumers_delete (jsCtx *js, const char *device_id,
                                     GError **error)
{
  g_autofree char *runs = NULL, *settings = NULL, *subject = NULL;
  jsOptions o;
  jsErrCode jerr = 0;
  natsStatus s;

  if (!vigil_fleet_device_id_check (device_id, error))
    return FALSE;
  runs = vigil_fleet_consumer_runs (device_id);
  settings = vigil_fleet_consumer_settings (device_id);
  if (!consumer_delete (js, VIGIL_FLEET_STREAM_RUNS, runs, error) ||
      !consumer_delete (js, VIGIL_FLEET_STREAM_SETTINGS, settings, error))
    return FALSE;
  subject = vigil_fleet_subject_run (device_id);
  jsOptions_Init (&o);
  o.Stream.Purge.Subject = subject;
  s = js_PurgeStream (js, VIGIL_FLEET_STREAM_RUNS, &o, &jerr);
  if (s != NATS_OK) {
    vigil_fleet_set_nats_error (error, s, jerr, "cannot purge the device's runs");
    return FALSE;
  }
  /* Its settings hold secrets: they do not stay behind in the broker. */
  g_free (subject);
  subject = vigil_fleet_subject_settings (device_id);
  o.Stream.Purge.Subject = subject;
  jerr = 0;
  s = js_PurgeStream (js, VIGIL_FLEET_STREAM_SETTINGS, &o, &jerr);
  if (s != NATS_OK) {
    vigil_fleet_set_nats_error (error, s, jerr, "cannot purge the device's settings");
    return FALSE;
  }
  return TRUE;
}

/* ---- publishing and pulling ---------------------------------------- */

gboolean
vigil_fleet_publish (jsCtx *js, const char *subject, const char *msg_id,
                     const void *data, int len, gboolean *duplicate,
                     GError **error)
{
  return vigil_fleet_publish_seq (js, subject, msg_id, data, len, NULL, duplicate, error);
}

gboolean
vigil_fleet_run_withdraw (jsCtx *js, guint64 seq, gboolean *gone, GError **error)
{
  jsErrCode jerr = 0;
  natsStatus s;

  g_return_val_if_fail (js != NULL && seq > 0, FALSE);
  if (gone)
    *gone = FALSE;
  s = js_DeleteMsg (js, VIGIL_FLEET_STREAM_RUNS, seq, NULL, &jerr);
  if (s == NATS_OK) {
    if (gone)
      *gone = TRUE;
    return TRUE;
  }
  /* Taken by its device already (acknowledged, so gone from the work
   * queue): the broker answers "no message found", which 2.9 reports as a
   * generic deletion failure. Nothing left to withdraw. */
  if (s == NATS_NOT_FOUND || jerr == JSSequenceNotFoundErr || jerr == JSNoMessageFoundErr
      || jerr == JSStreamMsgDeleteFailed)
    return TRUE;
  vigil_fleet_set_nats_error (error, s, jerr, "cannot withdraw a run from the stream");
  return FALSE;
}

gboolean
vigil_fleet_publish_seq (jsCtx *js, const char *subject, const char *msg_id,
                         const void *data, int len, guint64 *seq, gboolean *duplicate,
                         GError **error)
{
  jsPubOptions po;
  jsPubAck *ack = NULL;
  jsErrCode jerr = 0;
  natsStatus s;

  g_return_val_if_fail (js && subject && msg_id && *msg_id, FALSE);
  jsPubOptions_Init (&po);
  po.MsgId = msg_id;
  s = js_Publish (&ack, js, subject, data, len, &po, &jerr);
  if (s != NATS_OK) {
    g_autofree char *what = g_strdup_printf ("cannot publish to %s", subject);
    vigil_fleet_set_nats_error (error, s, jerr, what);
    return FALSE;
  }
  if (duplicate)
    *duplicate = ack->Duplicate;
  if (seq)
    *seq = ack->Sequence;
  jsPubAck_Destroy (ack);
  return TRUE;
}

/* The reports stream keeps limits retention (the shape every existing
 * deployment has: nats-server 2.9 refuses to change a stream's retention
 * in place), and the console trims it below its consumer's acknowledgement
 * floor, the sequence up to which every report was acknowledged (or
 * terminated). Nothing above the floor is touched, so a report the
 * console has not acknowledged, or that waits for redelivery, stays. */
gboolean
vigil_fleet_reports_trim (jsCtx *js, guint64 *floor, GError **error)
{
  jsConsumerInfo *ci = NULL;
  jsOptions o;
  jsErrCode jerr = 0;
  natsStatus s;
  guint64 acked;

  g_return_val_if_fail (js != NULL, FALSE);
  s = js_GetConsumerInfo (&ci, js, VIGIL_FLEET_STREAM_REPORTS, VIGIL_FLEET_CONSOLE_CONSUMER,
                          NULL, &jerr);
  if (s != NATS_OK) {
    vigil_fleet_set_nats_error (error, s, jerr, "cannot read the console's consumer");
    return FALSE;
  }
  acked = ci->AckFloor.Stream;
  jsConsumerInfo_Destroy (ci);
  if (floor)
    *floor = acked;
  if (acked == 0)
    return TRUE;
  jsOptions_Init (&o);
  /* Purges up to, not including, this sequence. */
  o.Stream.Purge.Sequence = acked + 1;
  jerr = 0;
  s = js_PurgeStream (js, VIGIL_FLEET_STREAM_REPORTS, &o, &jerr);
  if (s != NATS_OK) {
    vigil_fleet_set_nats_error (error, s, jerr, "cannot trim the reports stream");
    return FALSE;
  }
  return TRUE;
}

/* Binds to an existing durable pull consumer: the only JetStream API a
 * device's permissions allow is its own consumers' INFO and MSG.NEXT. */
static natsSubscription *
bind_pull (jsCtx *js, const char *stream, const char *consumer,
           const char *subject, GError **error)
{
  natsSubscription *sub = NULL;
  jsSubOptions so;
  jsErrCode jerr = 0;
  natsStatus s;

  jsSubOptions_Init (&so);
  so.Stream = stream;
  so.Consumer = consumer;
  s = js_PullSubscribe (&sub, js, subject, consumer, NULL, &so, &jerr);
  if (s != NATS_OK) {
    g_autofree char *what = g_strdup_printf ("cannot bind to consumer %s on %s",
                                             consumer, stream);
    vigil_fleet_set_nats_error (error, s, jerr, what);
    return NULL;
  }
  return sub;
}

natsSubscription *
vigil_fleet_device_runs_subscribe (jsCtx *js, const char *device_id,
                                   GError **error)
{
  g_autofree char *consumer = NULL, *subject = NULL;

  if (!vigil_fleet_device_id_check (device_id, error))
    return NULL;
  consumer = vigil_fleet_consumer_runs (device_id);
  subject = vigil_fleet_subject_run (device_id);
  return bind_pull (js, VIGIL_FLEET_STREAM_RUNS, consumer, subject, error);
}

natsSubscription *
vigil_fleet_device_settings_subscribe (jsCtx *js, const char *device_id,
                                       GError **error)
{
  g_autofree char *consumer = NULL, *subject = NULL;

  if (!vigil_fleet_device_id_check (device_id, error))
    return NULL;
  consumer = vigil_fleet_consumer_settings (device_id);
  subject = vigil_fleet_subject_settings (device_id);
  return bind_pull (js, VIGIL_FLEET_STREAM_SETTINGS, consumer, subject, error);
}

natsSubscription *
vigil_fleet_console_reports_subscribe (jsCtx *js, GError **error)
{
  return bind_pull (js, VIGIL_FLEET_STREAM_REPORTS,
                    VIGIL_FLEET_CONSOLE_CONSUMER, VIGIL_FLEET_REPORTS_SUBJECTS,
                    error);
}
