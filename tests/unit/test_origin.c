/*
 * test_origin - the process behind a message: /proc read with bounds (a
 * fake /proc with a 1 MB command line and a cwd holding newlines and
 * escapes), the clean form (no control byte, no space, idempotent, cut
 * with "..."), PHP's script header, and the greeting name that carries
 * it all from mailgov-sendmail, forged or overlong.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "origin.h"
#include "t.h"

/* clean_ok - only printable, no space, no quote or backslash */
static int
clean_ok(const char *s)
{
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '\\' || *s == '"')
			return 0;
	return 1;
}

int
main(void)
{
	char	 dir[] = "/tmp/mailgov-origin.XXXXXX", path[256], out[ORIGIN_MAX];
	char	 again[ORIGIN_MAX], helo[ORIGIN_HELO_MAX + 1], *big;
	struct origin o, p;
	size_t	 i;
	int	 fd;

	/* the clean form */
	origin_clean(out, sizeof(out), "a b\nc\x1b[31m\\\"%zz%41", 18);
	T_EQ_S(out, "a%20b%0ac%1b[31m%5c%22%25zz%41", "clean escapes");
	origin_clean(again, sizeof(again), out, strlen(out));
	T_EQ_S(again, out, "cleaning twice changes nothing");
	big = malloc(1 << 20);
	memset(big, '\n', 1 << 20);
	origin_clean(out, sizeof(out), big, 1 << 20);
	T_OK(strlen(out) < ORIGIN_MAX && clean_ok(out) &&
	    strcmp(out + strlen(out) - 3, "...") == 0,
	    "1 MB of newlines is cut, clean, and ends in ...: %.20s", out);
	memset(big, 'x', 1 << 20);
	origin_clean(out, sizeof(out), big, ORIGIN_MAX - 1);
	T_EQ_U(strlen(out), ORIGIN_MAX - 1, "a field that fits is kept whole");
	origin_clean(out, sizeof(out), big, ORIGIN_MAX);
	T_OK(strlen(out) == ORIGIN_MAX - 1 &&
	    strcmp(out + ORIGIN_MAX - 4, "...") == 0, "one byte more is cut");

	/* a fake /proc: pid 4242 */
	T_OK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/4242", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/4242/exe", dir);
	T_OK(symlink("/usr/bin/php8.2", path) == 0, "exe link");
	snprintf(path, sizeof(path), "%s/4242/cwd", dir);
	T_OK(symlink("/var/www/site\nevent=held account=victim", path) == 0,
	    "cwd link");
	snprintf(path, sizeof(path), "%s/4242/cmdline", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	for (i = 0; i < (1 << 20); i++)
		big[i] = (i % 7 == 6) ? '\0' : (i % 11 == 0 ? '\n' : 'a');
	memcpy(big, "php\0x.php\0", 10);
	T_OK(write(fd, big, 1 << 20) == 1 << 20, "a 1 MB cmdline");
	close(fd);
	T_EQ_U(origin_proc(dir, 4242, &o), 0, "origin_proc reads pid 4242");
	T_EQ_U(o.pid, 4242, "pid");
	T_EQ_S(o.exe, "/usr/bin/php8.2", "exe");
	T_EQ_S(o.cwd, "/var/www/site%0aevent=held%20account=victim",
	    "a hostile cwd is one clean field");
	T_OK(strncmp(o.cmd, "php%20x.php%20", 14) == 0 && clean_ok(o.cmd) &&
	    strlen(o.cmd) < ORIGIN_MAX, "a 1 MB cmdline is cut and clean: %s",
	    o.cmd);
	T_EQ_U(origin_proc(dir, 4243, &o), (uint64_t)-1, "a gone process");
	T_EQ_U(o.pid, 0, "a gone process records nothing");
	T_EQ_U(origin_proc("/proc", getpid(), &o), 0, "our own /proc");
	T_OK(strstr(o.exe, "test_origin") != NULL, "own exe: %s", o.exe);

	/* a shell between: its parent is the caller */
	snprintf(path, sizeof(path), "%s/4241", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/4241/exe", dir);
	T_OK(symlink("/usr/bin/dash", path) == 0, "shell exe link");
	snprintf(path, sizeof(path), "%s/4241/cmdline", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	T_OK(write(fd, "sh\0-c\0/usr/sbin/sendmail -t -i", 31) == 31,
	    "shell cmdline");
	close(fd);
	snprintf(path, sizeof(path), "%s/4241/stat", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	T_OK(write(fd, "4241 (a) b) c) S 4242 1 1", 25) == 25, "stat");
	close(fd);
	T_EQ_U(origin_ppid(dir, 4241), 4242, "ppid past a ')' in comm");
	T_EQ_U(origin_caller(dir, 4241, &o), 0, "caller through a shell");
	T_EQ_U(o.pid, 4242, "the shell's parent");
	T_EQ_S(o.exe, "/usr/bin/php8.2", "its exe");
	T_EQ_U(origin_caller(dir, 4242, &o), 0, "no shell");
	T_EQ_U(o.pid, 4242, "the parent itself");

	/* PHP's header */
	T_EQ_U(origin_php_script("Subject: x\r\nX-PHP-Originating-Script: "
	    "1001:mailer.php\r\n\r\nX-PHP-Originating-Script: 1:no.php\r\n",
	    80, out, sizeof(out)), 0, "script header found");
	T_EQ_S(out, "mailer.php", "the UID is dropped, the file kept");
	T_EQ_U(origin_php_script("Subject: x\n\nX-PHP-Originating-Script: "
	    "1:b.php\n", 47, out, sizeof(out)), (uint64_t)-1,
	    "a header line in the body does not count");
	T_EQ_U(origin_php_script("x-php-originating-script: 33:/home/a b.php"
	    "\n\n", 44, out, sizeof(out)), 0, "any case");
	T_EQ_S(out, "/home/a%20b.php", "cleaned");

	/* the greeting name */
	memset(&o, 0, sizeof(o));
	o.pid = 77;
	snprintf(o.exe, sizeof(o.exe), "/usr/bin/php");
	origin_clean(o.cwd, sizeof(o.cwd), "/var/www/a,b=c <d>;@e", 21);
	snprintf(o.script, sizeof(o.script), "x%%0ay.php");
	origin_helo(&o, helo, sizeof(helo));
	T_OK(strpbrk(helo, " <>()\\\";@") == NULL && strlen(helo) <=
	    ORIGIN_HELO_MAX, "no character smtpd changes: %s", helo);
	T_EQ_U(origin_from_helo(helo, &p), 0, "parsed back");
	T_EQ_U(p.pid, 77, "pid back");
	T_EQ_S(p.exe, o.exe, "exe back");
	T_EQ_S(p.cwd, o.cwd, "cwd back");
	T_EQ_S(p.script, "x%0ay.php", "an escape stays an escape");
	T_EQ_U(origin_from_helo("localhost", &p), (uint64_t)-1,
	    "another greeting carries nothing");
	T_EQ_U(origin_from_helo("mailgov-sendmail,pid=99999999999,"
	    "script=%0d%0aa%00b,bogus,x=y", &p), 0, "a forged one parses");
	T_OK(p.pid == 0 && strcmp(p.script, "%0d%0aa%00b") == 0,
	    "bad pid ignored, bytes re-escaped: %s", p.script);
	memset(big, 'a', 3000);
	memcpy(big, "mailgov-sendmail,cwd=", 21);
	big[3000] = '\0';
	T_EQ_U(origin_from_helo(big, &p), (uint64_t)-1, "overlong refused");
	/* every field at its worst still fits */
	memset(&o, 0, sizeof(o));
	o.pid = 4194304;
	memset(big, ',', 1 << 20);
	origin_clean(o.exe, sizeof(o.exe), big, 1 << 20);
	memcpy(o.cwd, o.exe, sizeof(o.cwd));
	memcpy(o.cmd, o.exe, sizeof(o.cmd));
	memcpy(o.script, o.exe, sizeof(o.script));
	origin_helo(&o, helo, sizeof(helo));
	T_OK(strlen(helo) <= ORIGIN_HELO_MAX && origin_from_helo(helo, &p) ==
	    0 && p.pid == 4194304 && strncmp(p.script, ",,,,,,,,", 8) == 0 &&
	    strcmp(p.script + strlen(p.script) - 3, "...") == 0,
	    "worst case greeting, every field in it: %zu bytes",
	    strlen(helo));
	free(big);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	T_OK(system(path) == 0, "clean up");
	return t_done();
}
