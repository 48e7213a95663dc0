/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scans of planted files in a temporary device root give exactly the
 * expected detections: same-file AND, negation, preserve-case, regex,
 * hashes; links out of the scope are never followed, special files are
 * skipped, exclusions and scopes hold, size-qualified hash branches hash
 * only files of that size, the card has the object's hashes, and a
 * cancelled scan stops.
 */
#include "ioc-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  char *root;   /* the device root folder */
  char *outside;
} Lab;

static void
lab_setup (Lab *lab, gconstpointer data)
{
  lab->root = g_dir_make_tmp ("ioc-lab-XXXXXX", NULL);
  lab->outside = g_dir_make_tmp ("ioc-outside-XXXXXX", NULL);
  g_free (plant (lab->root, "home/alice/Downloads/invoice.exe", "MZ-evil-payload", 15));
  g_free (plant (lab->root, "home/alice/Downloads/Invoice.EXE", "MZ-other", 8));
  g_free (plant (lab->root, "home/alice/notes.txt", "hello", 5));
  g_free (plant (lab->root, "home/bob/evil.exe", "0123456789", 10));
  g_free (plant (lab->root, "tmp/drop/abcd.bin", "dropper", 7));
  g_free (plant (lab->root, "tmp/drop/ABCD1.bin", "dropper2", 8));
  g_free (plant (lab->root, "srv/data/evil.exe", "MZ-evil-payload", 15));
  g_free (plant (lab->outside, "secret.bin", "outside-secret", 14));
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  vt_rm_rf (lab->root);
  vt_rm_rf (lab->outside);
  g_free (lab->root);
  g_free (lab->outside);
}

static IocScanResult *
scan_with (Lab *lab, const char *xml, IocScopeKind kind, const char *const *paths,
           const char *const *exclusions, IocCollection **coll_out)
{
  IocCollection *coll = collection_of (xml);
  IocScope scope = { kind, g_ptr_array_new (), g_ptr_array_new () };
  IocScanOptions opt = { 0 };
  g_autoptr (GError) error = NULL;
  IocScanResult *r;

  for (guint i = 0; paths && paths[i]; i++)
    g_ptr_array_add (scope.paths, (char *) paths[i]);
  for (guint i = 0; exclusions && exclusions[i]; i++)
    g_ptr_array_add (scope.exclusions, (char *) exclusions[i]);
  opt.root = lab->root;
  opt.scope = &scope;
  opt.threads = 2;
  r = ioc_scan_run (coll, &opt, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (scope.paths);
  g_ptr_array_unref (scope.exclusions);
  if (coll_out != NULL)
    *coll_out = coll;
  else
    ioc_collection_free (coll);
  return r;
}

/* The sorted device paths of the first IOC's matches, joined by " ". */
static char *
found_paths (IocScanResult *r)
{
  IocDocResult *dr = r->docs->pdata[0];
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < dr->matches->len; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", ((IocMatch *) dr->matches->pdata[i])->path);
  return g_string_free (s, FALSE);
}

static const char *const everything[] = { "/", NULL };

static void
test_same_file_and (Lab *lab, gconstpointer data)
{
  g_autofree char *h = md5_of ("MZ-evil-payload", 15);
  /* evil.exe with the payload's hash: /home/bob/evil.exe has the name,
   * invoice.exe the hash, only /srv/data/evil.exe has both. */
  g_autofree char *body = indicator ("AND", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL),
                                     item11 ("FileItem/Md5sum", "is", "md5", h, NULL), NULL);
  g_autofree char *x = ioc11 ("and", body);
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_autofree char *paths = found_paths (r);

  g_assert_cmpstr (paths, ==, "/srv/data/evil.exe");
  g_assert_cmpuint (r->files, ==, 7);
}

static void
test_negation (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("AND", item11 ("FileItem/FileName", "ends-with", "string", ".exe", NULL),
                                     item11 ("FileItem/FullPath", "starts-with", "string", "/home/", "negate=\"true\""),
                                     NULL);
  g_autofree char *x = ioc11 ("neg", body);
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_autofree char *paths = found_paths (r);

  g_assert_cmpstr (paths, ==, "/srv/data/evil.exe");
}

static void
test_preserve_case (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "Invoice.EXE",
                                                   "preserve-case=\"true\""), NULL);
  g_autofree char *caseless = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "Invoice.EXE", NULL), NULL);
  g_autofree char *x = ioc11 ("pc", body);
  g_autofree char *y = ioc11 ("ci", caseless);
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_autoptr (IocScanResult) r2 = scan_with (lab, y, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_autofree char *paths = found_paths (r);
  g_autofree char *paths2 = found_paths (r2);

  g_assert_cmpstr (paths, ==, "/home/alice/Downloads/Invoice.EXE");
  g_assert_cmpstr (paths2, ==, "/home/alice/Downloads/Invoice.EXE /home/alice/Downloads/invoice.exe");
}

static void
test_regex (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FullPath", "matches", "string",
                                                   "\\\\drop\\\\[a-z]{4}\\.bin$", NULL), NULL);
  g_autofree char *x = ioc11 ("re", body);
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_autofree char *paths = found_paths (r);

  /* Caseless: ABCD1.bin has five characters before the dot. */
  g_assert_cmpstr (paths, ==, "/tmp/drop/abcd.bin");
}

static void
test_card_has_hashes_and_matched_text (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "notes.txt", NULL), NULL);
  g_autofree char *x = ioc11 ("card", body);
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  IocDocResult *dr = r->docs->pdata[0];
  IocMatch *m;
  g_autofree char *sha256 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "hello", 5);

  g_assert_cmpuint (dr->n_matches, ==, 1);
  m = dr->matches->pdata[0];
  g_assert_cmpstr (m->path, ==, "/home/alice/notes.txt");
  g_assert_cmpuint (m->size, ==, 5);
  g_assert_cmpstr (m->md5, ==, "5d41402abc4b2a76b9719d911017c592");
  g_assert_cmpstr (m->sha256, ==, sha256);
  g_assert_cmpint (m->modified, >, 0);
  g_assert_cmpstr (m->matched, ==, "OR\n  FileItem/FileName is \"notes.txt\"");
  /* The collection needs no hash: nothing was read. */
  g_assert_cmpuint (r->bytes, ==, 0);
  g_assert_cmpuint (r->hashed_files, ==, 0);
}

static void
test_symlink_out_of_scope_not_followed (Lab *lab, gconstpointer data)
{
  g_autofree char *h = md5_of ("outside-secret", 14);
  g_autofree char *body = indicator ("OR", item11 ("FileItem/Md5sum", "is", "md5", h, NULL), NULL);
  g_autofree char *x = ioc11 ("link", body);
  g_autofree char *target = g_build_filename (lab->outside, "secret.bin", NULL);
  g_autofree char *link = g_build_filename (lab->root, "home/alice/link.bin", NULL);
  g_autofree char *dlink = g_build_filename (lab->root, "escape", NULL);
  const char *const via_link[] = { "/escape", NULL };
  g_autoptr (IocScanResult) r = NULL;
  g_autoptr (IocScanResult) r2 = NULL;

  g_assert_cmpint (symlink (target, link), ==, 0);
  g_assert_cmpint (symlink (lab->outside, dlink), ==, 0);
  r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_assert_cmpuint (((IocDocResult *) r->docs->pdata[0])->n_matches, ==, 0);
  g_assert_cmpuint (r->skipped, ==, 2);
  /* A scope path that resolves outside the root is refused, not walked. */
  r2 = scan_with (lab, x, IOC_SCOPE_CUSTOM, via_link, NULL, NULL);
  g_assert_cmpuint (r2->files, ==, 0);
  g_assert_cmpuint (r2->scope_notes->len, ==, 1);
  g_assert_nonnull (strstr (((IocPathNote *) r2->scope_notes->pdata[0])->reason, "out of the device root"));
}

static void
test_special_files_skipped (Lab *lab, gconstpointer data)
{
  g_autofree char *fifo = g_build_filename (lab->root, "tmp/drop/pipe", NULL);
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "pipe", NULL), NULL);
  g_autofree char *x = ioc11 ("fifo", body);
  g_autoptr (IocScanResult) r = NULL;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_assert_cmpuint (((IocDocResult *) r->docs->pdata[0])->n_matches, ==, 0);
  g_assert_cmpuint (r->skipped, ==, 1);
  g_assert_cmpstr (((IocPathNote *) r->skipped_list->pdata[0])->path, ==, "/tmp/drop/pipe");
}

static void
test_unreadable_counted (Lab *lab, gconstpointer data)
{
  g_autofree char *h = md5_of ("hello", 5);
  g_autofree char *body = indicator ("OR", item11 ("FileItem/Md5sum", "is", "md5", h, NULL), NULL);
  g_autofree char *x = ioc11 ("perm", body);
  g_autofree char *locked = g_build_filename (lab->root, "home/alice/notes.txt", NULL);
  g_autoptr (IocScanResult) r = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("running as root: every file is readable");
      return;
    }
  g_assert_cmpint (chmod (locked, 0), ==, 0);
  r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_assert_cmpuint (r->errors, ==, 1);
  g_assert_cmpstr (((IocPathNote *) r->error_list->pdata[0])->path, ==, "/home/alice/notes.txt");
  g_assert_cmpuint (r->files, ==, 6);
}

static void
test_exclusions_and_custom_paths (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "ends-with", "string", ".exe", NULL), NULL);
  g_autofree char *x = ioc11 ("ex", body);
  const char *const paths[] = { "/home", "/home/alice", "/srv", NULL };
  const char *const excl[] = { "/home/alice/Downloads", "*/data/*", NULL };
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, paths, excl, NULL);
  g_autofree char *found = found_paths (r);

  g_assert_cmpstr (found, ==, "/home/bob/evil.exe");
  /* /home/alice is inside /home: its files are scanned once. */
  g_assert_cmpuint (r->files, ==, 2);
}

static void
test_critical_areas_and_system_drives (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "ends-with", "string", ".exe", NULL), NULL);
  g_autofree char *x = ioc11 ("areas", body);
  g_autoptr (IocScanResult) crit = NULL;
  g_autoptr (IocScanResult) drives = NULL;
  g_autofree char *c = NULL;
  g_autofree char *d = NULL;

  g_free (plant (lab->root, "proc/1/evil.exe", "x", 1));
  crit = scan_with (lab, x, IOC_SCOPE_CRITICAL_AREAS, NULL, NULL, NULL);
  drives = scan_with (lab, x, IOC_SCOPE_SYSTEM_DRIVES, NULL, NULL, NULL);
  c = found_paths (crit);
  d = found_paths (drives);
  /* /srv is not a critical area; /proc is not a drive. */
  g_assert_cmpstr (c, ==, "/home/alice/Downloads/Invoice.EXE /home/alice/Downloads/invoice.exe "
                          "/home/bob/evil.exe");
  g_assert_cmpstr (d, ==, "/home/alice/Downloads/Invoice.EXE /home/alice/Downloads/invoice.exe "
                          "/home/bob/evil.exe /srv/data/evil.exe");
}

static void
test_size_qualified_hashes_only_matching_sizes (Lab *lab, gconstpointer data)
{
  g_autofree char *h = md5_of ("dropper", 7);
  g_autofree char *body = indicator ("OR", indicator ("AND", item11 ("FileItem/Md5sum", "is", "md5", h, NULL),
                                                      item11 ("FileItem/SizeInBytes", "is", "int", "7", NULL), NULL),
                                     NULL);
  g_autofree char *x = ioc11 ("sized", body);
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);
  g_autofree char *found = found_paths (r);

  g_assert_cmpstr (found, ==, "/tmp/drop/abcd.bin");
  g_assert_cmpuint (r->files, ==, 7);
  g_assert_cmpuint (r->hashed_files, ==, 1);
  g_assert_cmpuint (r->bytes, ==, 7);
}

static void
test_hash_items_read_every_file_once (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/Sha256sum", "is", "sha256",
                                                   "0000000000000000000000000000000000000000000000000000000000000000",
                                                   NULL), NULL);
  g_autofree char *x = ioc11 ("all", body);
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, NULL);

  g_assert_cmpuint (r->hashed_files, ==, 7);
  g_assert_cmpuint (r->bytes, ==, 15 + 8 + 5 + 10 + 7 + 8 + 15);
}

static void
test_cancelled_scan_stops (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL), NULL);
  g_autofree char *x = ioc11 ("cancel", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  IocScope scope = { IOC_SCOPE_SYSTEM_DRIVES, NULL, NULL };
  IocScanOptions opt = { 0 };
  g_autoptr (IocScanResult) r = NULL;

  g_cancellable_cancel (cancel);
  opt.root = lab->root;
  opt.scope = &scope;
  opt.cancellable = cancel;
  r = ioc_scan_run (coll, &opt, NULL);
  g_assert_true (r->cancelled);
  g_assert_cmpuint (r->files, ==, 0);
}

static void
count_progress (const IocScanProgress *p, gpointer data)
{
  guint *calls = data;
  (*calls)++;
  g_assert_cmpuint (p->files_done, <=, p->files_found);
}

static void
test_progress_reported (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL), NULL);
  g_autofree char *x = ioc11 ("progress", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocScope scope = { IOC_SCOPE_SYSTEM_DRIVES, NULL, NULL };
  IocScanOptions opt = { 0 };
  g_autoptr (IocScanResult) r = NULL;
  guint calls = 0;

  opt.root = lab->root;
  opt.scope = &scope;
  opt.progress = count_progress;
  opt.progress_data = &calls;
  r = ioc_scan_run (coll, &opt, NULL);
  /* At least the final "done" report. */
  g_assert_cmpuint (calls, >=, 1);
  g_assert_cmpuint (r->files, ==, 7);
}

static void
test_result_json (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL),
                                     item11 ("RegistryItem/Path", "contains", "string", "Run", NULL), NULL);
  g_autofree char *x = ioc11 ("json", body);
  IocCollection *coll = NULL;
  g_autoptr (IocScanResult) r = scan_with (lab, x, IOC_SCOPE_CUSTOM, everything, NULL, &coll);
  g_autoptr (JsonObject) o = ioc_scan_result_to_json (r, coll);
  JsonObject *ioc = json_array_get_object_element (json_object_get_array_member (o, "iocs"), 0);
  JsonObject *card = json_object_get_object_member (ioc, "card");
  JsonObject *file = json_array_get_object_element (json_object_get_array_member (o, "ioc_files"), 0);
  JsonObject *phases;

  g_assert_true (json_object_get_boolean_member (ioc, "found"));
  g_assert_cmpint (json_object_get_int_member (ioc, "objects_found"), ==, 2);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (card, "objects")), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o, "files_scanned"), ==, 7);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (file, "unsupported")), ==, 1);
  /* The phases apart: the load is the collection's, the walk ends inside
   * the scan. */
  phases = json_object_get_object_member (o, "phases_us");
  g_assert_cmpint (coll->load_us, >, 0);
  g_assert_cmpint (json_object_get_int_member (phases, "load"), ==, coll->load_us);
  g_assert_cmpint (r->walk_us, >, 0);
  g_assert_cmpint (r->walk_us, <=, r->duration_us);
  g_assert_cmpint (json_object_get_int_member (phases, "walk"), ==, r->walk_us);
  g_assert_cmpint (json_object_get_int_member (phases, "scan"), ==, r->duration_us);
  ioc_collection_free (coll);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Lab, NULL, lab_setup, fn, lab_teardown)
  ADD ("/ioc/scan/same-file-and", test_same_file_and);
  ADD ("/ioc/scan/negation", test_negation);
  ADD ("/ioc/scan/preserve-case", test_preserve_case);
  ADD ("/ioc/scan/regex", test_regex);
  ADD ("/ioc/scan/card-has-hashes-and-matched-text", test_card_has_hashes_and_matched_text);
  ADD ("/ioc/scan/symlink-out-of-scope-not-followed", test_symlink_out_of_scope_not_followed);
  ADD ("/ioc/scan/special-files-skipped", test_special_files_skipped);
  ADD ("/ioc/scan/unreadable-counted", test_unreadable_counted);
  ADD ("/ioc/scan/exclusions-and-custom-paths", test_exclusions_and_custom_paths);
  ADD ("/ioc/scan/critical-areas-and-system-drives", test_critical_areas_and_system_drives);
  ADD ("/ioc/scan/size-qualified-hashes-only-matching-sizes", test_size_qualified_hashes_only_matching_sizes);
  ADD ("/ioc/scan/hash-items-read-every-file-once", test_hash_items_read_every_file_once);
  ADD ("/ioc/scan/cancelled-scan-stops", test_cancelled_scan_stops);
  ADD ("/ioc/scan/progress-reported", test_progress_reported);
  ADD ("/ioc/scan/result-json", test_result_json);
  return g_test_run ();
}
