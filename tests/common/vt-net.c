/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The network isolation tests' shared pieces (see vt-net.h).
 */
#define _GNU_SOURCE
#include "vt-net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

void
vt_net_sh (const char *command)
{
  int rc = system (command);

  if (rc != 0)
    g_error ("'%s' failed (%d)", command, rc);
}

int
vt_net_connect (int netns, const char *address, guint16 port, int *fd)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  int s, e = 0;

  g_assert_cmpint (inet_pton (AF_INET, address, &a.sin_addr), ==, 1);
  if (netns < 0)
    s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  else
    {
      /* A socket belongs to the namespace it was made in: the thread
       * visits @netns for socket() only, then comes back. */
      int here = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

      g_assert_cmpint (here, >=, 0);
      g_assert_cmpint (setns (netns, CLONE_NEWNET), ==, 0);
      s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      g_assert_cmpint (setns (here, CLONE_NEWNET), ==, 0);
      close (here);
    }
  g_assert_cmpint (s, >=, 0);
  if (connect (s, (struct sockaddr *) &a, sizeof a) != 0)
    {
      e = errno;
      close (s);
      s = -1;
    }
  *fd = s;
  return e;
}

void
vt_net_assert_open (int err, const char *address, guint16 port)
{
  if (err != 0)
    g_error ("%s:%u should answer, got %s", address, port, g_strerror (err));
}

void
vt_net_assert_cut (int err, const char *address, guint16 port)
{
  if (err != ECONNREFUSED)
    g_error ("%s:%u should be cut off (refused), got %s", address, port,
             err != 0 ? g_strerror (err) : "an answer");
}
