/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store size ledger: the sum of the object files' sizes, kept in the
 * file `.ledger` of the store so that a put or a delete need not list and
 * stat the whole folder under the store lock (which made each put cost
 * time linear in the number of objects). The limit events need the size
 * before and after each change exactly, across every process sharing the
 * store, so the ledger is only read and written with the store lock held,
 * and it is trusted only when it is provably current:
 *
 *  - a change marks it "dirty" before touching the folder and "clean" with
 *    the new size after; a process killed in between leaves it dirty, and
 *    the next reader recounts by listing the folder;
 *  - it records the kernel's boot id: its writes are not fsynced (that
 *    would add a sync to every put), so after a power loss it may be older
 *    than the folder, and a ledger from another boot is recounted;
 *  - the plugin recounts every store it knows at start-up (qstore_recount),
 *    which also catches objects added or removed by hand.
 *
 * Record (88 bytes): "vigil-quarantine-size 1 clean|dirty <20 digits> <boot id>\n".
 */
#include "qstore.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define LEDGER_MAGIC   "vigil-quarantine-size 1 "
#define LEDGER_BOOT_ID "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_LEN    36
#define RECORD_MAX     128

/* This boot's id, or "" when the system has none (then the ledger is never
 * trusted and every size is a recount). */
static const char *
boot_id (void)
{
  static char id[BOOT_ID_LEN + 1];
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      g_autofree char *text = NULL;

      if (g_file_get_contents (LEDGER_BOOT_ID, &text, NULL, NULL)
          && strlen (g_strstrip (text)) == BOOT_ID_LEN)
        memcpy (id, text, BOOT_ID_LEN + 1);
      g_once_init_leave (&once, 1);
    }
  return id;
}

static gsize
format_record (char *buf, gboolean clean, guint64 size)
{
  return g_snprintf (buf, RECORD_MAX, LEDGER_MAGIC "%s %020" G_GUINT64_FORMAT " %s\n",
                     clean ? "clean" : "dirty", size, boot_id ());
}

/* The size a clean ledger of this boot records; FALSE when it is absent,
 * dirty, damaged or from another boot. */
static gboolean
read_clean (int fd, guint64 *size)
{
  char buf[RECORD_MAX], want[RECORD_MAX];
  gsize prefix = strlen (LEDGER_MAGIC "clean ");
  gssize n;

  if (*boot_id () == '\0')
    return FALSE;
  n = q_pread_full (fd, buf, sizeof buf - 1, 0);
  if (n <= (gssize) prefix)
    return FALSE;
  buf[n] = '\0';
  *size = g_ascii_strtoull (buf + prefix, NULL, 10);
  /* Re-formatting what was parsed and comparing every byte checks the
   * magic, the state, the digits, the boot id and the length at once. */
  return format_record (want, TRUE, *size) == (gsize) n && memcmp (buf, want, n) == 0;
}

/* Records are all the same length, so a write replaces the whole record;
 * only a recount (which may follow a damaged file) truncates. */
static gboolean
write_record (int fd, gboolean clean, guint64 size, gboolean truncate)
{
  char buf[RECORD_MAX];
  gsize len = format_record (buf, clean, size);

  return q_pwrite_full (fd, buf, len, 0) && (!truncate || ftruncate (fd, len) == 0);
}

guint64
qledger_recount (QStore *store)
{
  guint64 size = qstore_total_size (store);

  if (*boot_id () != '\0')
    write_record (qstore_ledger_fd (store), TRUE, size, TRUE);
  return size;
}

guint64
qledger_size (QStore *store)
{
  guint64 size;

  if (read_clean (qstore_ledger_fd (store), &size))
    return size;
  return qledger_recount (store);
}

guint64
qledger_begin (QStore *store)
{
  guint64 size = qledger_size (store);
  int fd = qstore_ledger_fd (store);

  /* If even the dirty mark cannot be written, an empty ledger is just as
   * untrusted; a clean one left in place could lie after the change. */
  if (!write_record (fd, FALSE, size, FALSE) && ftruncate (fd, 0) < 0)
    g_warning ("quarantine %s: cannot invalidate the size ledger: %s",
               qstore_dir (store), g_strerror (errno));
  return size;
}

void
qledger_end (QStore *store, guint64 size)
{
  if (*boot_id () != '\0')
    write_record (qstore_ledger_fd (store), TRUE, size, FALSE);
}

gboolean
qstore_recount (QStore *store, guint64 *size, GError **error)
{
  guint64 total;

  if (!qstore_lock (store, error))
    return FALSE;
  total = qledger_recount (store);
  qstore_unlock (store);
  if (size != NULL)
    *size = total;
  return TRUE;
}

gboolean
qstore_size (QStore *store, guint64 *size, GError **error)
{
  if (!qstore_lock (store, error))
    return FALSE;
  *size = qledger_size (store);
  qstore_unlock (store);
  return TRUE;
}
