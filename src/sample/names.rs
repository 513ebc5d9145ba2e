//! Word lists behind the synthetic exports: names, cities, carriers, browsers, shop vocabulary.
//!
//! They live apart from the generator so the generator reads as logic, and so the city table —
//! which `jobs/hierarchies/kz_cities.csv` must mirror — sits in one place a test can walk.

/// Kazakh male first names, as they are usually written in documents (Russian-style Cyrillic),
/// plus a few in Kazakh orthography so that the data carries ә/ғ/қ/ұ and friends.
pub(crate) const KAZAKH_MALE: &[&str] = &[
    "Нурлан",
    "Серик",
    "Ерлан",
    "Асхат",
    "Бауыржан",
    "Даурен",
    "Ержан",
    "Канат",
    "Марат",
    "Нурсултан",
    "Арман",
    "Алмас",
    "Азамат",
    "Айдос",
    "Бекзат",
    "Дархан",
    "Ерболат",
    "Жандос",
    "Куаныш",
    "Мади",
    "Нуржан",
    "Олжас",
    "Руслан",
    "Санжар",
    "Талгат",
    "Тимур",
    "Ербол",
    "Аслан",
    "Еркебулан",
    "Динмухамед",
    "Алишер",
    "Қайрат",
    "Ғалым",
    "Әлихан",
];

pub(crate) const KAZAKH_FEMALE: &[&str] = &[
    "Айгерим",
    "Айжан",
    "Асель",
    "Гульнара",
    "Динара",
    "Жанар",
    "Жанна",
    "Камила",
    "Мадина",
    "Назерке",
    "Сауле",
    "Томирис",
    "Айнур",
    "Акбота",
    "Алия",
    "Аружан",
    "Балжан",
    "Гаухар",
    "Дана",
    "Жибек",
    "Индира",
    "Карлыгаш",
    "Ляззат",
    "Меруерт",
    "Салтанат",
    "Шынар",
    "Аяулым",
    "Айым",
    "Әсел",
    "Ұлжан",
    "Гүлнұр",
];

pub(crate) const RUSSIAN_MALE: &[&str] = &[
    "Александр",
    "Алексей",
    "Андрей",
    "Антон",
    "Артём",
    "Владимир",
    "Дмитрий",
    "Евгений",
    "Иван",
    "Игорь",
    "Илья",
    "Кирилл",
    "Константин",
    "Максим",
    "Михаил",
    "Никита",
    "Николай",
    "Олег",
    "Павел",
    "Роман",
    "Сергей",
    "Станислав",
    "Юрий",
    "Виктор",
    "Денис",
    "Вадим",
    "Георгий",
    "Григорий",
    "Фёдор",
    "Степан",
];

pub(crate) const RUSSIAN_FEMALE: &[&str] = &[
    "Анна",
    "Анастасия",
    "Валентина",
    "Виктория",
    "Галина",
    "Дарья",
    "Екатерина",
    "Елена",
    "Ирина",
    "Ксения",
    "Людмила",
    "Марина",
    "Мария",
    "Наталья",
    "Нина",
    "Ольга",
    "Полина",
    "Светлана",
    "Софья",
    "Татьяна",
    "Юлия",
    "Алина",
    "Вера",
    "Надежда",
    "Оксана",
    "Кристина",
    "Яна",
    "Евгения",
    "Лариса",
    "Алёна",
];

/// Kazakh surnames in their male form; [`push_surname`] derives the female form. The `-ұлы`
/// ones are the post-Soviet patronymic style, whose female form ends in `-қызы`.
pub(crate) const KAZAKH_SURNAMES: &[&str] = &[
    "Сериков",
    "Жумабаев",
    "Ахметов",
    "Касымов",
    "Оспанов",
    "Искаков",
    "Абенов",
    "Байжанов",
    "Кенжебаев",
    "Омаров",
    "Сулейменов",
    "Тулегенов",
    "Мухамедов",
    "Бекмуханов",
    "Есенов",
    "Калиев",
    "Садыков",
    "Жаксылыков",
    "Утегенов",
    "Ержанов",
    "Абдрахманов",
    "Нургалиев",
    "Султанов",
    "Турсунов",
    "Ибраев",
    "Смагулов",
    "Бейсенов",
    "Жакупов",
    "Шарипов",
    "Муканов",
    "Даулетов",
    "Нурланов",
    "Бекенов",
    "Серикбаев",
    "Кайратов",
    "Серікұлы",
    "Нұрланұлы",
];

/// Russian surnames (male form), plus the Korean and Ukrainian ones common in Kazakhstan, which
/// do not change with gender.
pub(crate) const RUSSIAN_SURNAMES: &[&str] = &[
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Белов",
    "Ким",
    "Пак",
    "Цой",
    "Шевченко",
    "Бондаренко",
    "Ткаченко",
];

/// Appends the surname in the form matching the person's gender.
pub(crate) fn push_surname(buf: &mut String, male_form: &str, female: bool) {
    if !female {
        buf.push_str(male_form);
    } else if let Some(stem) = male_form.strip_suffix("ұлы") {
        buf.push_str(stem);
        buf.push_str("қызы");
    } else if ["ов", "ев", "ёв", "ин", "ын"]
        .iter()
        .any(|s| male_form.ends_with(s))
    {
        buf.push_str(male_form);
        buf.push('а');
    } else {
        buf.push_str(male_form);
    }
}

/// Appends the lower-case Latin transliteration of a Cyrillic (Russian or Kazakh) word, the way
/// people spell their names in e-mail addresses.
pub(crate) fn push_translit(buf: &mut String, word: &str) {
    for ch in word.chars().flat_map(char::to_lowercase) {
        let latin = match ch {
            'а' | 'ә' => "a",
            'б' => "b",
            'в' => "v",
            'г' | 'ғ' => "g",
            'д' => "d",
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            // й as "i", like passports (ICAO 9303) and most people: "Aigerim", "Kairat".
            'и' | 'і' | 'й' => "i",
            'ы' => "y",
            'к' | 'қ' => "k",
            'л' => "l",
            'м' => "m",
            'н' | 'ң' => "n",
            'о' | 'ө' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' | 'ұ' | 'ү' => "u",
            'ф' => "f",
            'х' => "kh",
            'һ' => "h",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "sch",
            'ъ' | 'ь' => "",
            'ю' => "yu",
            'я' => "ya",
            c if c.is_ascii_alphanumeric() => {
                buf.push(c);
                continue;
            }
            _ => "",
        };
        buf.push_str(latin);
    }
}

pub(crate) const EMAIL_DOMAINS: &[(&str, u32)] = &[
    ("mail.ru", 30),
    ("gmail.com", 30),
    ("mail.kz", 16),
    ("yandex.kz", 12),
    ("inbox.kz", 8),
];

/// A city the generator writes in its canonical Cyrillic form. `weight` is roughly the
/// population in thousands, so Almaty, Astana and Shymkent dominate as they do in real exports.
pub(crate) struct City {
    pub name: &'static str,
    /// How people type it on a Latin keyboard; in the hierarchy, mapped like `name`.
    pub latin: &'static str,
    /// The Kazakh spelling when it differs from the Russian one; also in the hierarchy.
    pub kazakh: Option<&'static str>,
    /// Oblast or city of republican significance, as the Russian-language statistics write it.
    /// Only the hierarchy test reads this and `macro_region`: they are here so the hierarchy
    /// file is checked against the same table the generator draws from.
    #[cfg_attr(not(test), allow(dead_code))]
    pub region: &'static str,
    #[cfg_attr(not(test), allow(dead_code))]
    pub macro_region: &'static str,
    pub weight: u32,
    /// West Kazakhstan kept UTC+05:00 when the east was on UTC+06:00 (until 2024-03-01).
    pub west: bool,
}

const fn city(
    name: &'static str,
    latin: &'static str,
    kazakh: Option<&'static str>,
    region: &'static str,
    macro_region: &'static str,
    weight: u32,
    west: bool,
) -> City {
    City {
        name,
        latin,
        kazakh,
        region,
        macro_region,
        weight,
        west,
    }
}

pub(crate) const CITIES: &[City] = &[
    city("Алматы", "Almaty", None, "г. Алматы", "Юг", 2250, false),
    city("Астана", "Astana", None, "г. Астана", "Центр", 1420, false),
    city("Шымкент", "Shymkent", None, "г. Шымкент", "Юг", 1230, false),
    city(
        "Актобе",
        "Aktobe",
        Some("Ақтөбе"),
        "Актюбинская область",
        "Запад",
        560,
        true,
    ),
    city(
        "Караганда",
        "Karaganda",
        Some("Қарағанды"),
        "Карагандинская область",
        "Центр",
        500,
        false,
    ),
    city(
        "Тараз",
        "Taraz",
        None,
        "Жамбылская область",
        "Юг",
        440,
        false,
    ),
    city(
        "Павлодар",
        "Pavlodar",
        None,
        "Павлодарская область",
        "Север",
        360,
        false,
    ),
    city("Семей", "Semey", None, "область Абай", "Восток", 350, false),
    city(
        "Усть-Каменогорск",
        "Ust-Kamenogorsk",
        Some("Өскемен"),
        "Восточно-Казахстанская область",
        "Восток",
        330,
        false,
    ),
    city(
        "Кызылорда",
        "Kyzylorda",
        Some("Қызылорда"),
        "Кызылординская область",
        "Юг",
        330,
        true,
    ),
    city(
        "Уральск",
        "Uralsk",
        Some("Орал"),
        "Западно-Казахстанская область",
        "Запад",
        330,
        true,
    ),
    city(
        "Атырау",
        "Atyrau",
        None,
        "Атырауская область",
        "Запад",
        300,
        true,
    ),
    city(
        "Актау",
        "Aktau",
        Some("Ақтау"),
        "Мангистауская область",
        "Запад",
        270,
        true,
    ),
    city(
        "Костанай",
        "Kostanay",
        Some("Қостанай"),
        "Костанайская область",
        "Север",
        260,
        false,
    ),
    city(
        "Петропавловск",
        "Petropavl",
        Some("Петропавл"),
        "Северо-Казахстанская область",
        "Север",
        220,
        false,
    ),
    city(
        "Туркестан",
        "Turkistan",
        Some("Түркістан"),
        "Туркестанская область",
        "Юг",
        210,
        false,
    ),
    city(
        "Темиртау",
        "Temirtau",
        None,
        "Карагандинская область",
        "Центр",
        180,
        false,
    ),
    city(
        "Талдыкорган",
        "Taldykorgan",
        Some("Талдықорған"),
        "область Жетісу",
        "Юг",
        180,
        false,
    ),
    city(
        "Кокшетау",
        "Kokshetau",
        Some("Көкшетау"),
        "Акмолинская область",
        "Север",
        170,
        false,
    ),
    city(
        "Жанаозен",
        "Zhanaozen",
        Some("Жаңаөзен"),
        "Мангистауская область",
        "Запад",
        160,
        true,
    ),
    city(
        "Экибастуз",
        "Ekibastuz",
        None,
        "Павлодарская область",
        "Север",
        150,
        false,
    ),
    city(
        "Рудный",
        "Rudny",
        None,
        "Костанайская область",
        "Север",
        130,
        false,
    ),
    city(
        "Конаев",
        "Konaev",
        Some("Қонаев"),
        "Алматинская область",
        "Юг",
        110,
        false,
    ),
    city(
        "Жезказган",
        "Zhezkazgan",
        Some("Жезқазған"),
        "область Ұлытау",
        "Центр",
        90,
        false,
    ),
    city(
        "Каскелен",
        "Kaskelen",
        Some("Қаскелең"),
        "Алматинская область",
        "Юг",
        80,
        false,
    ),
    city(
        "Кентау",
        "Kentau",
        None,
        "Туркестанская область",
        "Юг",
        80,
        false,
    ),
    city(
        "Балхаш",
        "Balkhash",
        Some("Балқаш"),
        "Карагандинская область",
        "Центр",
        70,
        false,
    ),
    city(
        "Сатпаев",
        "Satpayev",
        Some("Сәтбаев"),
        "область Ұлытау",
        "Центр",
        70,
        false,
    ),
    city(
        "Риддер",
        "Ridder",
        None,
        "Восточно-Казахстанская область",
        "Восток",
        50,
        false,
    ),
    city(
        "Степногорск",
        "Stepnogorsk",
        None,
        "Акмолинская область",
        "Север",
        50,
        false,
    ),
];

/// Villages and small towns that the hierarchy deliberately lacks, so the pipeline's
/// "values the hierarchy lacks" path sees real input.
pub(crate) const RARE_VILLAGES: &[&str] = &[
    "Шелек",
    "Сарыагаш",
    "Есик",
    "Узынагаш",
    "с. Бесагаш",
    "пос. Отеген батыр",
    "Жаркент",
    "Шардара",
];

/// Mobile carriers with the operator codes of their numbers, a few IPv4 /16 prefixes and one
/// IPv6 /32. The prefixes are realistic-looking (the IPv4 ones are ranges these operators are
/// commonly seen on) but are not an authoritative statement about allocations: they only have
/// to make per-carrier prefixes recognisable in the data. Kcell/Activ and Tele2/Altel share
/// networks, so they share prefixes.
pub(crate) struct Carrier {
    pub name: &'static str,
    pub weight: u32,
    pub phone_codes: &'static [u16],
    pub v4: &'static [[u8; 2]],
    pub v6: [u16; 2],
}

const KCELL_V4: &[[u8; 2]] = &[[5, 76], [37, 99]];
const TELE2_V4: &[[u8; 2]] = &[[178, 91], [188, 0], [178, 90]];
const KCELL_CODES: &[u16] = &[701, 702, 775, 778];

pub(crate) const CARRIERS: &[Carrier] = &[
    Carrier {
        name: "Beeline",
        weight: 30,
        phone_codes: &[705, 771, 776, 777],
        v4: &[[37, 150], [5, 34], [37, 151]],
        v6: [0x2a03, 0x32c0],
    },
    Carrier {
        name: "Kcell",
        weight: 18,
        phone_codes: KCELL_CODES,
        v4: KCELL_V4,
        v6: [0x2a02, 0x2698],
    },
    Carrier {
        name: "Activ",
        weight: 16,
        phone_codes: KCELL_CODES,
        v4: KCELL_V4,
        v6: [0x2a02, 0x2698],
    },
    Carrier {
        name: "Tele2",
        weight: 15,
        phone_codes: &[707, 747],
        v4: TELE2_V4,
        v6: [0x2a0d, 0x6fc0],
    },
    Carrier {
        name: "Altel",
        weight: 8,
        phone_codes: &[700, 708],
        v4: TELE2_V4,
        v6: [0x2a0d, 0x6fc0],
    },
    Carrier {
        name: "Kazakhtelecom",
        weight: 13,
        phone_codes: &[703, 704, 706],
        v4: &[[95, 56], [95, 57], [2, 132], [2, 134], [92, 46], [89, 218]],
        v6: [0x2a01, 0x0860],
    },
];

/// Index of Kazakhtelecom in [`CARRIERS`]: home Wi-Fi (carrier unknown) goes through it.
pub(crate) const KAZAKHTELECOM: usize = 5;

/// Full user-agent strings with a market-share-like weight. Home devices are drawn from the
/// non-bot ones; bots only appear as occasional one-off events.
pub(crate) const USER_AGENTS: &[(&str, u32)] = &[
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        16,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36",
        8,
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.210 Mobile Safari/537.36",
        7,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        6,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        14,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        7,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_7_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        2,
    ),
    (
        "Mozilla/5.0 (Linux; arm_64; Android 12; SM-A125F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.230 YaBrowser/24.1.5.75.00 SA/3 Mobile Safari/537.36",
        5,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        12,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
        4,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        3,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36",
        5,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0",
        2,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        3,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        2,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
        1,
    ),
];

pub(crate) const BOT_AGENTS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
];

pub(crate) const CATEGORIES: &[&str] = &[
    "phones",
    "laptops",
    "tv",
    "audio",
    "appliances",
    "kids",
    "sport",
    "beauty",
    "home",
    "auto",
    "books",
    "clothing",
    "gaming",
];

pub(crate) const SEARCH_QUERIES: &[&str] = &[
    "iphone 15",
    "samsung a54",
    "наушники",
    "холодильник",
    "кроссовки nike",
    "ноутбук игровой",
    "пылесос dyson",
    "телевизор lg 55",
    "детская коляска",
    "airpods pro",
    "кофемашина",
    "чехол",
    "ps5",
    "смарт часы",
    "мультиварка",
    "шины зимние",
    "redmi note 13",
    "стиральная машина",
    "қалам",
    "кондиционер",
    "чайник",
    "xiaomi",
    "подарок маме",
];

pub(crate) const PROMOS: &[&str] = &[
    "black-friday",
    "nauryz",
    "back-to-school",
    "new-year",
    "11-11",
    "kaspi-red",
];

pub(crate) const UTM_TAILS: &[&str] = &[
    "utm_source=google&utm_medium=cpc&utm_campaign=brand",
    "utm_source=instagram&utm_medium=social",
    "utm_source=yandex&utm_medium=cpc",
    "ref=telegram",
    "utm_source=2gis&utm_medium=referral",
    "sort=price_asc",
    "page=2",
];

pub(crate) const FRAGMENTS: &[&str] = &["#reviews", "#specs", "#top", "#delivery"];

pub(crate) const INVALID_IPS: &[&str] = &[
    "unknown",
    "999.1.1.1",
    "",
    "-",
    "10.0.0",
    "256.12.3.4",
    "2a03:32c0::zz",
    "localhost",
];
