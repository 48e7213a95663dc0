/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Put as a specification: what is refused (symlinks, folders, FIFOs,
 * devices, sockets, `..`, symlinked parents, the store itself, missing
 * files, files that change while read), that the original stays unless
 * asked and allowed to go, and that the recovery sweep removes exactly the
 * leftovers nobody is writing.
 */
#include "qtest-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void
assert_put_fails (QFixture *f, const char *root, const char *path, int code,
                  const char *fragment)
{
  QPutRequest req = { .root = root, .path = path, .delete_original = TRUE,
                      .detection = "x" };
  QPutResult res;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) list = NULL;

  g_assert_false (qstore_put (f->store, &req, NULL, &res, &error));
  g_assert_error (error, Q_ERROR, code);
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("'%s' does not mention '%s'", error->message, fragment);
  list = qstore_list (f->store, NULL);
  g_assert_cmpuint (json_array_get_length (list), ==, 0);
  g_assert_cmpuint (qtest_count_visible (f->store_dir), ==, 1);  /* store.key */
}

static void
test_refuses_symlink (QFixture *f, gconstpointer data)
{
  g_autofree char *target = qtest_write_file (f->root, "/real.bin", 10, 1);
  g_autofree char *link = g_build_filename (f->root, "link.bin", NULL);

  g_assert_cmpint (symlink (target, link), ==, 0);
  assert_put_fails (f, f->root, "/link.bin", Q_ERROR_REFUSED, "symbolic link");
  g_assert_true (g_file_test (target, G_FILE_TEST_EXISTS));
}

static void
test_refuses_folder (QFixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (f->root, "dir", NULL);

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  assert_put_fails (f, f->root, "/dir", Q_ERROR_REFUSED, "a folder");
  assert_put_fails (f, f->root, "/dir/", Q_ERROR_REFUSED, "folder");
  assert_put_fails (f, f->root, "/", Q_ERROR_REFUSED, "names a folder");
}

static void
test_refuses_fifo (QFixture *f, gconstpointer data)
{
  g_autofree char *fifo = g_build_filename (f->root, "pipe", NULL);

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  assert_put_fails (f, f->root, "/pipe", Q_ERROR_REFUSED, "FIFO");
  g_assert_true (g_file_test (fifo, G_FILE_TEST_EXISTS));
}

static void
test_refuses_device (QFixture *f, gconstpointer data)
{
  /* The machine itself as the device: /dev/null is a real device node. */
  assert_put_fails (f, "/", "/dev/null", Q_ERROR_REFUSED, "character device");
}

static void
test_refuses_socket (QFixture *f, gconstpointer data)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_autofree char *path = g_build_filename (f->root, "sock", NULL);
  int s = socket (AF_UNIX, SOCK_STREAM, 0);

  if (strlen (path) >= sizeof addr.sun_path)
    {
      g_test_skip ("scratch path too long for a socket");
      close (s);
      return;
    }
  strcpy (addr.sun_path, path);
  g_assert_cmpint (bind (s, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  assert_put_fails (f, f->root, "/sock", Q_ERROR_REFUSED, "socket");
  close (s);
}

static void
test_refuses_dotdot (QFixture *f, gconstpointer data)
{
  g_autofree char *outside = g_build_filename (f->base, "outside.bin", NULL);

  g_assert_true (g_file_set_contents (outside, "secret", -1, NULL));
  assert_put_fails (f, f->root, "/../outside.bin", Q_ERROR_REFUSED, "'..'");
  assert_put_fails (f, f->root, "/a/../../outside.bin", Q_ERROR_REFUSED, "'..'");
  g_assert_true (g_file_test (outside, G_FILE_TEST_EXISTS));
}

static void
test_refuses_symlinked_parent (QFixture *f, gconstpointer data)
{
  g_autofree char *outside_dir = g_build_filename (f->base, "elsewhere", NULL);
  g_autofree char *victim = qtest_write_file (f->base, "/elsewhere/x.bin", 10, 2);
  g_autofree char *link = g_build_filename (f->root, "home", NULL);

  g_assert_cmpint (symlink (outside_dir, link), ==, 0);
  assert_put_fails (f, f->root, "/home/x.bin", Q_ERROR_REFUSED, "symbolic link");
  g_assert_true (g_file_test (victim, G_FILE_TEST_EXISTS));
}

static void
test_refuses_store_itself (QFixture *f, gconstpointer data)
{
  /* The store seen as a device path from the scratch folder. */
  assert_put_fails (f, f->base, "/store/store.key", Q_ERROR_REFUSED,
                    "quarantine folder");
}

static void
test_missing_file (QFixture *f, gconstpointer data)
{
  assert_put_fails (f, f->root, "/nope.bin", Q_ERROR_NOT_FOUND, NULL);
  assert_put_fails (f, f->root, "/no/such/dir/x", Q_ERROR_NOT_FOUND, NULL);
}

static void
test_changed_while_read (QFixture *f, gconstpointer data)
{
  /* A /proc file says it is empty, then reads as text: the size read
   * differs from the size seen, as for a file written during the put. */
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) getpid ());

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /proc");
      return;
    }
  assert_put_fails (f, "/", path, Q_ERROR_CHANGED, "changed");
}

static void
test_keeps_original_unless_asked (QFixture *f, gconstpointer data)
{
  g_autofree char *host = qtest_write_file (f->root, "/a.bin", 100, 3);
  g_autofree char *id = qtest_put (f, "/a.bin", FALSE);
  g_autofree char *id2 = NULL;

  g_assert_true (g_file_test (host, G_FILE_TEST_EXISTS));
  id2 = qtest_put (f, "/a.bin", TRUE);
  g_assert_false (g_file_test (host, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (id, !=, id2);
  g_assert_true (qstore_verify (f->store, id, NULL, NULL));
  g_assert_true (qstore_verify (f->store, id2, NULL, NULL));
}

static void
test_result_reports_sizes (QFixture *f, gconstpointer data)
{
  QPutRequest req = { .root = f->root, .path = "/a.bin", .delete_original = TRUE };
  QPutResult res;
  g_autoptr (GError) error = NULL;
  g_autofree char *obj = NULL;
  struct stat st;

  g_free (qtest_write_file (f->root, "/a.bin", 1000, 3));
  g_assert_true (qstore_put (f->store, &req, NULL, &res, &error));
  g_assert_true (res.original_deleted);
  g_assert_null (res.original_kept);
  g_assert_cmpuint (res.size_before, ==, 0);
  obj = g_strdup_printf ("%s/%s.vqo", f->store_dir, res.id);
  g_assert_cmpint (stat (obj, &st), ==, 0);
  g_assert_cmpuint (res.size_after, ==, st.st_size);
  g_assert_cmpuint (qstore_total_size (f->store), ==, st.st_size);
  qput_result_clear (&res);
}

static void
test_cancelled_put_keeps_original (QFixture *f, gconstpointer data)
{
  g_autofree char *host = qtest_write_file (f->root, "/big.bin", 3 * 1024 * 1024, 4);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  QPutRequest req = { .root = f->root, .path = "/big.bin", .delete_original = TRUE };
  QPutResult res;
  g_autoptr (GError) error = NULL;

  g_cancellable_cancel (cancel);
  g_assert_false (qstore_put (f->store, &req, cancel, &res, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_file_test (host, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (qtest_count_visible (f->store_dir), ==, 1);
  g_assert_cmpuint (qstore_total_size (f->store), ==, 0);
}

static void
test_recovery_sweep (QFixture *f, gconstpointer data)
{
  g_autofree char *dead = g_build_filename (f->store_dir, ".tmp-0123", NULL);
  g_autofree char *live = g_build_filename (f->store_dir, ".tmp-4567", NULL);
  g_autoptr (GPtrArray) removed = NULL;
  g_autoptr (GError) error = NULL;
  int fd;

  g_assert_true (g_file_set_contents (dead, "partial", -1, NULL));
  g_assert_true (g_file_set_contents (live, "being written", -1, NULL));
  /* A writer still alive holds its lock (flock is per open file, so a
   * second open of the same file in this process stands for it). */
  fd = open (live, O_RDONLY);
  g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
  g_clear_pointer (&f->store, qstore_free);
  f->store = qstore_open (f->store_dir, &removed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_cmpstr (removed->pdata[0], ==, ".tmp-0123");
  g_assert_false (g_file_test (dead, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (live, G_FILE_TEST_EXISTS));
  close (fd);
  g_clear_pointer (&removed, g_ptr_array_unref);
  removed = qstore_recover (f->store, &error);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_false (g_file_test (live, G_FILE_TEST_EXISTS));
}

static void
test_temp_files_never_listed (QFixture *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autofree char *tmp = NULL;
  g_autoptr (JsonArray) list = NULL;
  int fd;

  g_free (qtest_write_file (f->root, "/a.bin", 10, 1));
  id = qtest_put (f, "/a.bin", FALSE);
  tmp = g_strdup_printf ("%s/.tmp-%s", f->store_dir, "ffffffffffffffffffffffffffffffff");
  g_assert_true (g_file_set_contents (tmp, "half", -1, NULL));
  fd = open (tmp, O_RDONLY);
  flock (fd, LOCK_EX);
  list = qstore_list (f->store, NULL);
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 0), "id"), ==, id);
  close (fd);
}

static void
count_progress (double fraction, gpointer data)
{
  double *last = data;

  g_assert_cmpfloat (fraction, >=, *last);
  g_assert_cmpfloat (fraction, <=, 1.0);
  *last = fraction;
}

static void
test_progress_reported (QFixture *f, gconstpointer data)
{
  double last = 0;
  QPutRequest req = { .root = f->root, .path = "/p.bin", .progress = count_progress,
                      .progress_data = &last };
  QPutResult res;

  g_free (qtest_write_file (f->root, "/p.bin", 3 * 1024 * 1024 + 5, 6));
  g_assert_true (qstore_put (f->store, &req, NULL, &res, NULL));
  g_assert_cmpfloat (last, ==, 1.0);
  qput_result_clear (&res);
}

typedef struct {
  const char *host;
  gboolean    replace;   /* TRUE: a new file under the name; FALSE: touch */
  gboolean    done;
} Meddler;

/* Runs inside the put, after the last byte was read (progress 1.0). */
static void
meddle (double fraction, gpointer data)
{
  Meddler *m = data;

  if (fraction < 1.0 || m->done)
    return;
  m->done = TRUE;
  if (m->replace)
    {
      g_autofree char *other = g_strconcat (m->host, ".new", NULL);
      g_assert_true (g_file_set_contents (other, "a different file", -1, NULL));
      g_assert_cmpint (rename (other, m->host), ==, 0);
    }
  else
    {
      struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
      g_assert_cmpint (utimensat (AT_FDCWD, m->host, times, 0), ==, 0);
    }
}

static void
test_touched_during_read_is_kept (QFixture *f, gconstpointer data)
{
  g_autofree char *host = qtest_write_file (f->root, "/t.bin", 2 * 1024 * 1024, 9);
  g_autofree char *sha = qtest_file_sha256 (host);
  g_autofree char *after = NULL;
  Meddler m = { .host = host, .replace = FALSE };
  QPutRequest req = { .root = f->root, .path = "/t.bin", .delete_original = TRUE,
                      .progress = meddle, .progress_data = &m };
  QPutResult res;
  g_autoptr (GError) error = NULL;

  g_assert_false (qstore_put (f->store, &req, NULL, &res, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_CHANGED);
  g_assert_true (m.done);
  after = qtest_file_sha256 (host);
  g_assert_cmpstr (after, ==, sha);
  g_assert_cmpuint (qtest_count_visible (f->store_dir), ==, 1);
}

static void
test_replaced_after_read_is_not_deleted (QFixture *f, gconstpointer data)
{
  g_autofree char *host = qtest_write_file (f->root, "/r.bin", 100 * 1024, 10);
  g_autofree char *sha = qtest_file_sha256 (host);
  g_autofree char *text = NULL;
  g_autoptr (JsonObject) meta = NULL;
  Meddler m = { .host = host, .replace = TRUE };
  QPutRequest req = { .root = f->root, .path = "/r.bin", .delete_original = TRUE,
                      .progress = meddle, .progress_data = &m };
  QPutResult res;
  g_autoptr (GError) error = NULL;

  /* The file read is committed; the new file under its name is not the
   * one that was read, so it is left in place. */
  g_assert_true (qstore_put (f->store, &req, NULL, &res, &error));
  g_assert_no_error (error);
  g_assert_false (res.original_deleted);
  g_assert_nonnull (strstr (res.original_kept, "changed"));
  g_assert_true (g_file_get_contents (host, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "a different file");
  meta = qstore_show (f->store, res.id, NULL);
  g_assert_cmpstr (json_object_get_string_member (meta, "sha256"), ==, sha);
  g_assert_true (qstore_verify (f->store, res.id, NULL, NULL));
  qput_result_clear (&res);
}

#define ADD(path, fn) g_test_add (path, QFixture, NULL, qfix_setup, fn, qfix_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/quarantine/put/refuses-symlink", test_refuses_symlink);
  ADD ("/quarantine/put/refuses-folder", test_refuses_folder);
  ADD ("/quarantine/put/refuses-fifo", test_refuses_fifo);
  ADD ("/quarantine/put/refuses-device", test_refuses_device);
  ADD ("/quarantine/put/refuses-socket", test_refuses_socket);
  ADD ("/quarantine/put/refuses-dotdot", test_refuses_dotdot);
  ADD ("/quarantine/put/refuses-symlinked-parent", test_refuses_symlinked_parent);
  ADD ("/quarantine/put/refuses-the-store-itself", test_refuses_store_itself);
  ADD ("/quarantine/put/missing-file-not-found", test_missing_file);
  ADD ("/quarantine/put/file-changed-while-read-is-kept", test_changed_while_read);
  ADD ("/quarantine/put/keeps-original-unless-asked", test_keeps_original_unless_asked);
  ADD ("/quarantine/put/result-reports-store-sizes", test_result_reports_sizes);
  ADD ("/quarantine/put/cancelled-put-keeps-original", test_cancelled_put_keeps_original);
  ADD ("/quarantine/put/recovery-sweep-removes-dead-temps-only", test_recovery_sweep);
  ADD ("/quarantine/put/temp-files-never-listed", test_temp_files_never_listed);
  ADD ("/quarantine/put/progress-reported", test_progress_reported);
  ADD ("/quarantine/put/touched-during-read-is-kept", test_touched_during_read_is_kept);
  ADD ("/quarantine/put/replaced-after-read-is-not-deleted", test_replaced_after_read_is_not_deleted);
  return g_test_run ();
}
