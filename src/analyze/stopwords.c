/*
 * stopwords.c — stop-word lists for en de fr es it pt nl, written for dossier.
 *
 * Each list is one space-separated string of lower-case UTF-8 words (apostrophes as
 * ASCII '). On first use the lists are merged into one sorted table of (word, language
 * mask) that an_stopword_mask searches by bisection.
 */
#include "analyze/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const stop_en =
	"a about above across after afterwards again against all almost alone along already "
	"also although always am among amongst an and another any anybody anyhow anyone "
	"anything anyway anywhere are aren't around as at back be became because become "
	"becomes been before beforehand behind being below beside besides between beyond both "
	"but by can cannot can't could couldn't did didn't do does doesn't doing don't done "
	"down during each eg either else elsewhere enough etc even ever every everyone "
	"everything everywhere except few for former formerly from further furthermore get "
	"gets getting got had hadn't has hasn't have haven't having he he'd he'll hence her "
	"here hereby herein here's hers herself he's him himself his how however how's i i'd "
	"ie if i'll i'm in indeed instead into is isn't it its it's itself i've just last "
	"latter least less let let's like made make makes many may maybe me meanwhile might "
	"mine more moreover most mostly much must mustn't my myself namely neither never "
	"nevertheless next no nobody none noone nor not nothing now nowhere of off often on "
	"once one ones only onto or other others otherwise ought our ours ourselves out over "
	"own per perhaps please quite rather really said same say says see seem seemed "
	"seeming seems several shall shan't she she'd she'll she's should shouldn't since so "
	"some somehow someone something sometime sometimes somewhere still such than that "
	"that's the their theirs them themselves then thence there thereafter thereby "
	"therefore therein there's thereupon these they they'd they'll they're they've this "
	"those though through throughout thru thus to together too toward towards under "
	"unless until up upon us used using very via was wasn't we we'd well we'll went were "
	"we're weren't we've what whatever what's when whence whenever when's where "
	"whereafter whereas whereby wherein where's whereupon wherever whether which while "
	"whither who whoever whole whom who's whose why why's will with within without "
	"won't would wouldn't yet you you'd you'll your you're yours yourself yourselves "
	"you've s t d ll m re ve near nearly inside outside despite unlike amid till versus "
	"whose upon";

static const char *const stop_de =
	"ab aber alle allem allen aller allerdings alles als also am an ander andere anderem "
	"anderen anderer anderes anderm andern anders auch auf aus außer außerdem bei beide "
	"beiden beim bereits besonders bin bis bisher bist bzw da dabei dadurch dafür dagegen "
	"daher dahin damals damit danach daneben dann daran darauf daraus darf darin darum "
	"darunter das dass daß dasselbe davon davor dazu dein deine deinem deinen deiner "
	"deines dem demnach demselben den denen denn dennoch denselben der deren derer "
	"derselbe derselben des deshalb desselben dessen dich die dies diese dieselbe "
	"dieselben diesem diesen dieser dieses dir doch dort du durch dürfen ebenfalls ebenso "
	"eher ein eine einem einen einer eines einig einige einigem einigen einiger einiges "
	"einmal einst er es etwa etwas euch euer eure eurem euren eurer eures falls für gab "
	"ganz gar gegen gegenüber gemäß gerade gewesen gibt habe haben hast hat hatte hätte "
	"hatten hätten her heute hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer "
	"ihres im immer in indem infolge innerhalb ins inzwischen irgend ist ja je jede jedem "
	"jeden jeder jedes jedoch jene jenem jenen jener jenes jetzt kann kaum kein keine "
	"keinem keinen keiner keines können könnte könnten konnte konnten machen man manche "
	"manchem manchen mancher manches mehr mein meine meinem meinen meiner meines meist "
	"mich mir mit möchte muss müssen musste mussten nach nachdem neben nein nicht nichts "
	"noch nun nur ob oben oder oft ohne per schon sehr sei seien sein seine seinem seinen "
	"seiner seines seit seitdem selbst sich sie sind so sobald sodass sofern solche "
	"solchem solchen solcher solches soll sollen sollte sollten sondern sonst soweit "
	"sowie sowohl statt trotz über überhaupt um und uns unser unsere unserem unseren "
	"unserer unseres unter usw viel viele vielen vielleicht vom von vor vorher während "
	"wann war wäre waren wären warst warum was weder wegen weil weiter weitere welche "
	"welchem welchen welcher welches wem wen wenn wer werde werden wessen wie wieder will "
	"wir wird wirst wo wobei wodurch wohl wollen wollte worden wurde würde wurden würden "
	"zu zum zur zwar zwischen z.b";

static const char *const stop_fr =
	"a à afin ai aie aient ainsi ait alors après as au aucun aucune auquel aussi autre "
	"autres aux auxquels avaient avais avait avant avec avez aviez avions avoir avons "
	"ayant beaucoup bien c ça car ce ceci cela celle celles celui cependant certain "
	"certaine certains ces cet cette ceux chacun chaque chez ci comme comment contre d "
	"dans de dedans dehors déjà depuis des dès desquels dessous dessus devant doit donc "
	"dont du duquel durant elle elles en encore entre es est et étaient étais était "
	"étant été êtes être eu eux fait faire fais fois font fut grâce hors ici il ils j je "
	"jusqu jusque l la là laquelle le lequel les lesquelles lesquels leur leurs lors "
	"lorsque lui m ma mais malgré me même mêmes mes moi moins mon n ne ni non nos notre "
	"nous on ont or ou où par parce parmi pas pendant peu peut peuvent plupart plus "
	"plusieurs pour pourquoi pourrait pouvait puis qu quand que quel quelle quelles "
	"quelque quelques quels qui quoi s sa sans se selon sera seraient serait seront ses "
	"seul seule seulement si sien sinon soi soit sommes son sont sous souvent suis sur t "
	"ta tandis tant te tel telle telles tels tes toi ton toujours tous tout toute toutes "
	"très trop tu un une unes uns vers via voici voilà vos votre vous y également";

static const char *const stop_es =
	"a al algo alguna algunas alguno algunos ante antes aquel aquella aquellas aquello "
	"aquellos aquí así aunque cada casi como con contra cual cuales cualquier cuando "
	"cuanto cuya cuyo de del desde donde dos durante e el él ella ellas ello ellos en "
	"entonces entre era erais éramos eran eras eres es esa esas ese eso esos esta está "
	"estaba estabais estábamos estaban estabas estado estáis estamos están estar estas "
	"este esto estos estoy fue fueron fui fuimos ha había habían habido han has hasta "
	"hay haya he hemos hace hacer hacia incluso la las le les lo los luego más me "
	"mediante menos mi mí mientras mis misma mismas mismo mismos mucha muchas mucho "
	"muchos muy nada ni ningún ninguna ninguno no nos nosotras nosotros nuestra nuestras "
	"nuestro nuestros o os otra otras otro otros para pero poco pocos por porque pues "
	"puede pueden que qué quien quién quienes se sea sean según ser será serán sería si "
	"sí sido siempre sin sino sobre sois solo sólo somos son soy su sus también tan "
	"tanto te tenemos tener tengo ti tiene tienen toda todas todo todos tras tu tú tus "
	"un una unas uno unos usted ustedes vosotras vosotros y ya yo";

static const char *const stop_it =
	"a abbiamo ad agli ai al alla alle allo all altre altri altro anche ancora avere "
	"avete aveva avevano avuto c che chi ci ciò come comunque con contro cosa così cui "
	"da dagli dai dal dall dalla dalle dallo degli dei del dell della delle dello dentro "
	"deve devono di dopo dove dunque e è ed era erano essa esse essere essi esso fa "
	"fare fra già gli ha hai hanno ho i il in inoltre io l la le lei li lo loro lui ma "
	"me mentre mi mia mie miei mio molta molte molti molto ne negli nei nel nell nella "
	"nelle nello no noi non nostra nostre nostri nostro o ogni oppure ora per perché "
	"perciò però più poi può possono prima proprio qual quale quali qualche quando "
	"quanto quel quella quelle quelli quello questa queste questi questo qui sarà "
	"sarebbe se sei sempre senza si sia siamo siano siete solo sono sopra sotto sta "
	"stata state stati stato stesso su sua sue sugli sui sul sull sulla sulle sullo suo "
	"suoi tanto te ti tra tu tua tue tuo tuoi tutta tutte tutti tutto tuttavia un una "
	"uno vi voi";

static const char *const stop_pt =
	"a à ainda além ao aos apenas aquela aquelas aquele aqueles aquilo as às assim até "
	"bem cada com como contra da das de dela delas dele deles depois desde do dos "
	"durante e é ela elas ele eles em enquanto entre era eram essa essas esse esses esta "
	"está estão estar estas estava estavam este estes eu foi foram há havia isso isto já "
	"lá lhe lhes mais mas me mesma mesmo meu meus minha minhas muita muitas muito "
	"muitos na não nas nem no nos nós nossa nossas nosso nossos num numa o onde os ou "
	"outra outras outro outros para pela pelas pelo pelos pode podem pois por porém "
	"porque quais qual quando quanto que quem se seja sejam sem sempre ser será serão "
	"seria seu seus só sob sobre sua suas são também tanto tão te tem têm tinha tinham "
	"toda todas todo todos tu tua tudo um uma umas uns vez vezes você vocês vos";

static const char *const stop_nl =
	"aan al alle alles als altijd andere ben bij daar daarom dan dat de der deze "
	"dezelfde die dit doch doen door dus een eens elk elke en enkele er ge geen geweest "
	"haar had heb hebben heeft hem hen het hier hij hoe hoewel hun iemand iets ieder "
	"iedere ik in is ja je jij jou jouw jullie kan kon kunnen maar me meer meeste men "
	"met mij mijn moet moeten mogen na naar nee niet niets nog nu of ofschoon om omdat "
	"onder ons onze ook op over reeds sinds sommige te tegen toch toen tot tussen u uit "
	"uw van veel voor waar waarom wanneer want waren was wat we wel welk welke werd "
	"werden wezen wie wij wil worden wordt zal ze zeer zelf zich zij zijn zo zodat "
	"zonder zou zouden zulke zullen";

struct stop_entry {
	const char *w;      /* points into one of the list strings (not NUL-terminated) */
	unsigned len;
	unsigned mask;
};

static struct stop_entry *g_table;
static size_t g_count;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	if (c)
		return c;
	return (alen > blen) - (alen < blen);
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct stop_entry *a = pa, *b = pb;
	return cmp_bytes(a->w, a->len, b->w, b->len);
}

static void stop_build(void)
{
	const char *lists[AN_LANG_COUNT] = { stop_en, stop_de, stop_fr, stop_es,
					     stop_it, stop_pt, stop_nl };
	size_t total = 0;
	for (int l = 0; l < AN_LANG_COUNT; l++)
		for (const char *p = lists[l]; *p; p++)
			total += (*p == ' ');
	total += AN_LANG_COUNT;
	struct stop_entry *t = calloc(total, sizeof *t);
	if (!t)
		return;   /* stays empty: no stop words rather than a crash */
	size_t n = 0;
	for (int l = 0; l < AN_LANG_COUNT; l++) {
		const char *p = lists[l];
		while (*p) {
			while (*p == ' ')
				p++;
			const char *s = p;
			while (*p && *p != ' ')
				p++;
			if (p > s && n < total)
				t[n++] = (struct stop_entry){ s, (unsigned)(p - s), 1u << l };
		}
	}
	qsort(t, n, sizeof *t, cmp_entry);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && cmp_entry(&t[m - 1], &t[i]) == 0)
			t[m - 1].mask |= t[i].mask;
		else
			t[m++] = t[i];
	}
	g_table = t;
	g_count = m;
}

unsigned an_stopword_mask(const char *w, size_t len)
{
	pthread_once(&g_once, stop_build);
	size_t lo = 0, hi = g_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_bytes(w, len, g_table[mid].w, g_table[mid].len);
		if (c == 0)
			return g_table[mid].mask;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

const char *an_lang_code(enum an_lang l)
{
	static const char *const codes[AN_LANG_COUNT] = { "en", "de", "fr", "es", "it", "pt", "nl" };
	return (l >= 0 && l < AN_LANG_COUNT) ? codes[l] : "und";
}
