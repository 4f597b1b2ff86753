/// Compact name dictionaries for `PersonDetector`: a few hundred common given names and surnames (mostly from US
/// census frequency lists, with some common European names). They are not exhaustive: names outside these lists are
/// only found through context (titles, greetings, `Name:`/`From:` fields, signatures).
enum NameLists {
    static let firstNames: String = """
        aaron abigail adam adrian aidan alan albert alex alexander alexandra alexis alice alicia allison amanda amber \
        amy andrea andrew angela angelica anita ann anna anne annette anthony antonio april ashley audrey austin \
        barbara benjamin beth betty beverly bill billy bob bobby bonnie bradley brandon brandy brenda brendan brett \
        brian brittany brooke bruce bryan caleb calvin cameron carl carla carlos carmen carol caroline carolyn carrie \
        casey catherine charles charlotte chad chelsea cheryl chris christian christina christine christopher cindy \
        claire clarence claudia cody colin colleen connie connor courtney craig crystal curtis cynthia dale dan dana \
        daniel danielle danny darlene darren dave david dawn dean deanna debbie deborah debra denise dennis derek \
        diana diane dianne dominic donald donna doris dorothy douglas dustin dylan earl edward eileen elaine eleanor \
        elijah elizabeth ellen emily emma eric erica erik erin ethan eugene eva evan evelyn felicia frances francis \
        frank fred gabriel gabriela gail gary gavin george gerald gina glenn gloria gordon grace greg gregory hailey \
        hannah harold harry hayley heather heidi helen henry holly howard ian isaac isabel isabella jack jackie \
        jacob jacqueline jaime jake james jamie jane janet janice jared jasmine jason jay jean jeff jeffrey jenna \
        jennifer jenny jeremy jerry jesse jessica jill jim jimmy jo joan joann joanna jodi joe joel john johnny jon \
        jonathan jordan jorge jose joseph joshua joy joyce juan judith judy julia julie justin karen karl kate \
        katherine kathleen kathryn kathy katie katrina kayla keith kelly kelsey ken kendra kenneth kerry kevin kim \
        kimberly kirk kristen kristin kristina kristy kurt kyle lance larry laura lauren laurie leah lee leonard \
        leslie linda lindsay lindsey lisa logan lori louis louise lucas lucy luis luke lydia lynn madison mandy \
        marc marcus margaret maria marie marilyn mario marissa marjorie mark martha martin marvin mary mason \
        matthew maureen megan melanie melinda melissa melody meredith michael michele michelle miguel mike mindy \
        miranda misty mitchell molly monica morgan nancy natalie nathan nathaniel neil nicholas nichole nicole \
        noah norma olivia oscar pamela patricia patrick paul paula peggy penny peter philip phillip priscilla \
        rachel ralph randall randy raymond rebecca regina renee rhonda ricardo richard ricky rita robert roberta \
        robin rodney roger ronald ronnie rose ruby russell ruth ryan sabrina sally samantha samuel sandra sara \
        sarah scott sean shannon sharon shawn sheila shelby shelly sherry shirley sierra sophia stacey stacy \
        stanley stephanie stephen steve steven stuart susan suzanne sydney tamara tammy tanya tara taylor teresa \
        terri terry theresa thomas tiffany timothy tina todd tom tommy toni tony tonya tracey traci tracy travis \
        trevor troy tyler valerie vanessa veronica vicki victor victoria vincent virginia walter wanda wayne \
        wendy wesley whitney william willie yolanda yvonne zachary \
        alison becky bethany brianna carole cassandra darrell frederick geraldine hugh jayne jocelyn joanne \
        karina katelyn lawrence lesley liam marian naomi nicola paige reece roberto rosemary sam sonia spencer \
        sylvia terrence owen jack harry oliver ella chloe zoe lily grace ruby mia ava leo max theo \
        ahmed ali anja carmen chen elena fatima francesca giulia hans ingrid javier jens klaus lars lena li lin \
        luca marco mohammed muhammad nina olga pablo pedro pierre priya rahul raj sofia sven wei yuki
        """
    static let surnames: String = """
        adams aguilar alexander allen alvarez anderson andrews armstrong arnold austin bailey baker banks barber \
        barker barnes barnett barrett barton bates bell bennett berry bishop black blair bowman boyd bradley brady \
        brooks brown bryant burke burns burton bush butler byrd caldwell campbell carlson carpenter carr carroll \
        carter castillo castro chambers chan chang chapman chavez chen christensen clark clarke cole coleman \
        collins cook cooper cortez cox craig crawford cruz cunningham curtis daniels davidson davis dawson day \
        dean diaz dixon dominguez douglas duncan dunn edwards elliott ellis evans farmer ferguson fernandez \
        fields fisher fleming fletcher flores ford foster fowler fox francis franklin freeman fuller garcia \
        gardner garrett garza george gibson gilbert gomez gonzales gonzalez gordon graham grant graves gray green \
        greene gregory griffin gross guerrero gutierrez guzman hale hall hamilton hansen hanson harper harris \
        harrison hart harvey hawkins hayes henderson henry hernandez herrera hicks hill hoffman holland holmes \
        holt hopkins horne horton howard howell hudson hughes hunt hunter jackson jacobs james jenkins jensen \
        jimenez johnson johnston jones jordan kelley kelly kennedy kim king klein knight lambert lane larson \
        lawrence lawson lee lewis little long lopez lucas lynch macdonald marshall martin martinez mason matthews \
        mcbride mccarthy mcdonald mckay mckinney medina mendez mendoza meyer meyers miller mills mitchell montgomery \
        moore morales moran moreno morgan morris morrison moss murphy murray myers nelson newman nguyen nichols \
        nixon norris obrien oliver olson ortiz owens palmer parker patel patterson payne pearson peck perez \
        perkins perry peters peterson phillips pierce porter powell powers preston price ramirez ramos ray \
        reed reese reeves reid reyes reynolds rhodes rice richards richardson riley rivera roberts robertson \
        robinson rodriguez rogers romero rose ross ruiz russell ryan salazar sanchez sanders santos saunders \
        schmidt schneider schultz scott shaw shelton simmons simpson sims smith snyder soto spencer stanley \
        steele stephens stevens stewart stone sullivan sutton swanson taylor terry thomas thompson torres tran \
        tucker turner valdez vargas vasquez vazquez wagner walker wallace walsh walters ward warren washington \
        watkins watson weaver webb weber webster welch wells west wheeler white wilkins williams williamson \
        willis wilson wong wood woods wright wu yang young zimmerman \
        cook osborne houston french haney andrade oconnor burns wheeler \
        becker fischer hoffmann koch muller mueller novak rossi russo bianchi ferrari dubois moreau lefebvre \
        kowalski nowak silva santos pereira kumar singh sharma khan ali ahmed yamamoto tanaka sato suzuki
        """

    /// Given names that are also common words: not names on their own, only next to a surname or in context.
    static let ambiguous: String = """
        amber april august autumn bill bob christian chase dawn destiny faith frank grace grant hope iris ivy \
        jack jay jean joy june lance lee mark may miles page rich rose ruby sky summer will young don art
        """

    /// Capitalised words that are never names after a context word (`Dear Team`, `Hi All`, `From: Support`).
    static let stopwords: String = """
        a all an and any at be by can customer customers dear doctor dr everyone for from good hello help hey hi \
        how i in is it its me mr mrs ms my no not of on or our patient please re sir madam so support team thank \
        thanks that the their there these they this to today us we what when where which who you your yes team \
        hr it admin sales billing security ops staff manager all folks guys colleagues friends mom dad son \
        daughter wife husband spouse sister brother mother father unknown n/a none na morning afternoon evening \
        subject date cc bcc md rn phd jr sr ii iii monday tuesday wednesday thursday friday saturday sunday \
        january february march april may june july august september october november december new san los
        """

    static func set(_ list: String) -> Set<String> { Set(list.split(separator: " ").map(String.init)) }
}
