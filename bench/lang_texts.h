/*
 * lang_texts.h — short sentences written for dossier's language benchmark
 * (bench/lang.c) and its unit test (tests/unit/test_analyze_lang.c): eight per
 * language of the stop lists, six per other language. Each language's
 * sentences tell one small everyday story so that they can be joined into a
 * paragraph or a page.
 */
#ifndef DOSSIER_BENCH_LANG_TEXTS_H
#define DOSSIER_BENCH_LANG_TEXTS_H

#define LT_MAX 8

struct lang_texts {
	const char *code;            /* ISO 639-1 */
	const char *s[LT_MAX + 1];   /* sentences, NULL-terminated */
};

static const struct lang_texts LANG_TEXTS[] = {
	{ "en", { "The bakery on the corner opens early because the baker likes quiet mornings.",
		  "Every Tuesday she bakes rye bread with seeds that her grandmother chose.",
		  "People from the whole street wait in a short line before the shop opens.",
		  "Last winter the oven broke and the neighbours brought soup for a week.",
		  "Now there is a small sign in the window that thanks all of them.",
		  "Her son wants to sell cakes as well, but she is not sure about it.",
		  "She thinks a good shop should do one thing and do it very well.",
		  "In the evening they count the coins and plan the flour for the next day.", NULL } },
	{ "de", { "Die Bäckerei an der Ecke öffnet früh, weil der Bäcker ruhige Morgen mag.",
		  "Jeden Dienstag backt sie Roggenbrot mit Körnern, die ihre Großmutter ausgesucht hat.",
		  "Die Leute aus der ganzen Straße warten in einer kurzen Schlange, bevor der Laden aufmacht.",
		  "Im letzten Winter ging der Ofen kaputt und die Nachbarn brachten eine Woche lang Suppe.",
		  "Jetzt hängt ein kleines Schild im Fenster, das ihnen allen dankt.",
		  "Ihr Sohn möchte auch Kuchen verkaufen, aber sie ist sich nicht sicher.",
		  "Sie glaubt, dass ein guter Laden eine Sache sehr gut machen sollte.",
		  "Am Abend zählen sie die Münzen und planen das Mehl für den nächsten Tag.", NULL } },
	{ "fr", { "La boulangerie du coin ouvre tôt parce que le boulanger aime les matins calmes.",
		  "Chaque mardi, elle prépare un pain de seigle avec des graines choisies par sa grand-mère.",
		  "Les gens de toute la rue attendent dans une petite file avant l'ouverture de la boutique.",
		  "L'hiver dernier, le four est tombé en panne et les voisins ont apporté de la soupe pendant une semaine.",
		  "Maintenant, une petite pancarte dans la vitrine les remercie tous.",
		  "Son fils veut aussi vendre des gâteaux, mais elle n'en est pas sûre.",
		  "Elle pense qu'une bonne boutique doit faire une seule chose et la faire très bien.",
		  "Le soir, ils comptent les pièces et prévoient la farine pour le lendemain.", NULL } },
	{ "es", { "La panadería de la esquina abre temprano porque al panadero le gustan las mañanas tranquilas.",
		  "Cada martes ella hornea pan de centeno con semillas que eligió su abuela.",
		  "La gente de toda la calle espera en una fila corta antes de que abra la tienda.",
		  "El invierno pasado se rompió el horno y los vecinos trajeron sopa durante una semana.",
		  "Ahora hay un pequeño cartel en la ventana que les da las gracias a todos.",
		  "Su hijo también quiere vender pasteles, pero ella no está segura.",
		  "Piensa que una buena tienda debe hacer una sola cosa y hacerla muy bien.",
		  "Por la noche cuentan las monedas y planean la harina para el día siguiente.", NULL } },
	{ "it", { "Il forno all'angolo apre presto perché al fornaio piacciono le mattine tranquille.",
		  "Ogni martedì lei prepara il pane di segale con i semi scelti dalla nonna.",
		  "La gente di tutta la strada aspetta in una breve fila prima che il negozio apra.",
		  "L'inverno scorso il forno si è rotto e i vicini hanno portato la zuppa per una settimana.",
		  "Adesso c'è un piccolo cartello nella vetrina che ringrazia tutti loro.",
		  "Suo figlio vuole vendere anche le torte, ma lei non ne è sicura.",
		  "Pensa che un buon negozio debba fare una cosa sola e farla molto bene.",
		  "La sera contano le monete e preparano la farina per il giorno dopo.", NULL } },
	{ "pt", { "A padaria da esquina abre cedo porque o padeiro gosta de manhãs tranquilas.",
		  "Todas as terças-feiras ela faz pão de centeio com sementes que a avó escolheu.",
		  "As pessoas de toda a rua esperam numa fila curta antes de a loja abrir.",
		  "No inverno passado o forno avariou e os vizinhos trouxeram sopa durante uma semana.",
		  "Agora há uma pequena placa na montra que agradece a todos eles.",
		  "O filho dela também quer vender bolos, mas ela não tem a certeza.",
		  "Ela acha que uma boa loja deve fazer uma só coisa e fazê-la muito bem.",
		  "À noite contam as moedas e planeiam a farinha para o dia seguinte.", NULL } },
	{ "nl", { "De bakkerij op de hoek gaat vroeg open omdat de bakker van rustige ochtenden houdt.",
		  "Elke dinsdag bakt ze roggebrood met zaden die haar grootmoeder heeft gekozen.",
		  "Mensen uit de hele straat wachten in een korte rij voordat de winkel opengaat.",
		  "Vorige winter ging de oven kapot en de buren brachten een week lang soep.",
		  "Nu hangt er een klein bordje in het raam dat hen allemaal bedankt.",
		  "Haar zoon wil ook taart verkopen, maar zij weet het nog niet zeker.",
		  "Ze vindt dat een goede winkel één ding moet doen en dat heel goed.",
		  "'s Avonds tellen ze de munten en plannen ze het meel voor de volgende dag.", NULL } },
	{ "ru", { "Пекарня на углу открывается рано, потому что пекарь любит тихое утро.",
		  "Каждый вторник она печёт ржаной хлеб с семенами, которые выбрала её бабушка.",
		  "Люди со всей улицы ждут в короткой очереди, пока магазин не откроется.",
		  "Прошлой зимой сломалась печь, и соседи целую неделю приносили суп.",
		  "Теперь в окне висит маленькая табличка, которая благодарит их всех.",
		  "Её сын тоже хочет продавать пироги, но она в этом не уверена.", NULL } },
	{ "pl", { "Piekarnia na rogu otwiera się wcześnie, bo piekarz lubi spokojne poranki.",
		  "W każdy wtorek ona piecze chleb żytni z ziarnami, które wybrała jej babcia.",
		  "Ludzie z całej ulicy czekają w krótkiej kolejce, zanim sklep zostanie otwarty.",
		  "Zeszłej zimy zepsuł się piec, a sąsiedzi przez tydzień przynosili zupę.",
		  "Teraz w oknie wisi mała tabliczka, która dziękuje im wszystkim.",
		  "Jej syn chce też sprzedawać ciasta, ale ona nie jest tego pewna.", NULL } },
	{ "sv", { "Bageriet på hörnet öppnar tidigt eftersom bagaren tycker om lugna morgnar.",
		  "Varje tisdag bakar hon rågbröd med frön som hennes mormor har valt.",
		  "Folk från hela gatan väntar i en kort kö innan butiken öppnar.",
		  "I vintras gick ugnen sönder och grannarna kom med soppa i en vecka.",
		  "Nu sitter det en liten skylt i fönstret som tackar dem alla.",
		  "Hennes son vill också sälja kakor, men hon är inte säker på det.", NULL } },
	{ "da", { "Bageriet på hjørnet åbner tidligt, fordi bageren godt kan lide stille morgener.",
		  "Hver tirsdag bager hun rugbrød med kerner, som hendes mormor har valgt.",
		  "Folk fra hele gaden venter i en kort kø, før butikken åbner.",
		  "Sidste vinter gik ovnen i stykker, og naboerne kom med suppe i en uge.",
		  "Nu hænger der et lille skilt i vinduet, som takker dem alle sammen.",
		  "Hendes søn vil også sælge kager, men hun er ikke sikker på det.", NULL } },
};

#define LANG_TEXTS_N (sizeof LANG_TEXTS / sizeof LANG_TEXTS[0])

#endif
