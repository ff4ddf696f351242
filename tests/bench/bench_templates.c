/*
 * bench_templates.c - the reply templates alone, for callgrind: N renders
 * of one typical case, so that instructions per call read off directly.
 *
 *   valgrind --tool=callgrind --toggle-collect=tmpl_render_sms \
 *       build/bench/bench_templates 100 dept-latin
 *   callgrind_annotate --inclusive=yes callgrind.out.*    (total / 100)
 *
 * Cases: dept-latin (the department SMS with a ~300-character Latin report
 * with diacritics, sms.ascii on), dept-ucs2 (the same in Cyrillic, ascii
 * off: UCS-2), dept-latin-ucs2 (Latin report, ascii off), dept-cyr-ascii
 * (Cyrillic report transliterated), ack (the built-in SMS
 * acknowledgement), email (tmpl_render of the built-in email
 * acknowledgement).  Prints the first result and the total length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "templates.h"

static const char *const latin =
    "Postovani, u ulici Đure Đakovića kod broja 17 već tri dana curi voda iz pukle cevi na "
    "trotoaru, voda se sliva niz ulicu i pravi led ujutru. Molimo da hitno pošaljete ekipu "
    "jer su deca već padala na putu do škole. Takođe ne radi ni ulična rasveta na uglu sa "
    "Takovskom, pa je noću potpuno mrak. Hvala unapred, stanari zgrade.";
static const char *const cyrillic =
    "Поштовани, у улици Ђуре Ђаковића код броја 17 већ три дана цури вода из пукле цеви на "
    "тротоару, вода се слива низ улицу и прави лед ујутру. Молимо да хитно пошаљете екипу "
    "јер су деца већ падала на путу до школе. Такође не ради ни улична расвета на углу са "
    "Таковском, па је ноћу потпуно мрак. Хвала унапред, станари зграде.";
/* as tickets.c notifies a department by SMS */
static const char *const dept_tmpl = "S48 prijava br. {id} ({department}): {text} Rok: {due}";

int
main(int argc, char **argv)
{
	struct tmpl_vars v = {
		.id = 12345, .status = "u radu", .department = "Vodovod i kanalizacija",
		.note = NULL, .created = "26.11.2026. 15:00", .due = "28.11.2026. 15:00",
	};
	const char *which = argc > 2 ? argv[2] : "dept-latin";
	long n = argc > 1 ? atol(argv[1]) : 100, i;
	size_t total = 0;

	for (i = 0; i < n; i++) {
		char *r;

		if (strcmp(which, "dept-latin") == 0) {
			v.text = latin;
			r = tmpl_render_sms(dept_tmpl, &v, 1, 2);
		} else if (strcmp(which, "dept-ucs2") == 0) {
			v.text = cyrillic;
			r = tmpl_render_sms(dept_tmpl, &v, 0, 2);
		} else if (strcmp(which, "dept-latin-ucs2") == 0) {
			v.text = latin;
			r = tmpl_render_sms(dept_tmpl, &v, 0, 2);
		} else if (strcmp(which, "dept-cyr-ascii") == 0) {
			v.text = cyrillic;
			r = tmpl_render_sms(dept_tmpl, &v, 1, 2);
		} else if (strcmp(which, "ack") == 0) {
			v.text = latin;
			r = tmpl_render_sms(tmpl_default_sms_ack, &v, 1, 2);
		} else if (strcmp(which, "email") == 0) {
			v.text = latin;
			r = tmpl_render(tmpl_default_email_ack, &v);
		} else {
			fprintf(stderr, "bench_templates: unknown case %s\n", which);
			return 2;
		}
		if (i == 0)
			printf("%s\n", r);
		total += strlen(r);
		free(r);
	}
	printf("bench_templates: %ld x %s, %zu bytes\n", n, which, total);
	return 0;
}
