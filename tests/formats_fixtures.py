#!/usr/bin/env python3
"""formats_fixtures.py DIR [GROUP...] — writes the office, e-book, RTF, e-mail
and table fixtures (and the hostile ones) into DIR from their XML/text, with
Python's zipfile. No office file made elsewhere is committed. GROUPs (office,
rtf, mail, table, hostile; default all) choose what is written; `--big N`
writes big.docx, .odt, .rtf, .eml, .epub, .pptx, .xlsx, .ods, .csv and .mbox of about
N MB of text each (bench/formats.sh)."""
import os
import struct
import sys
import zipfile

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CT = '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def core(title, author):
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">'
            f'<dc:title>{title}</dc:title><dc:creator>{author}</dc:creator>'
            '<dcterms:created>2024-03-01T09:00:00Z</dcterms:created>'
            '<dcterms:modified>2024-03-02T10:30:00Z</dcterms:modified></cp:coreProperties>')


def para(text, style=None, num=False):
    ppr = ''
    if style or num:
        ppr = '<w:pPr>' + (f'<w:pStyle w:val="{style}"/>' if style else '') + \
              ('<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>' if num else '') + '</w:pPr>'
    return f'<w:p>{ppr}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def docx_xml(body, prolog=''):
    return f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<w:document {W}><w:body>{body}</w:body></w:document>'


def write_zip(path, members, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, 'w', compress) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name) if False else name, data,
                       compress_type=zipfile.ZIP_STORED if name == 'mimetype' else compress)


RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
        '</Relationships>')
DOCX_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
           '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
           '<Default Extension="xml" ContentType="application/xml"/>'
           '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
           '</Types>')


def docx(path, body, title='Quarterly report', author='Ada Lovelace', prolog='', extra=()):
    write_zip(path, [('[Content_Types].xml', DOCX_CT), ('_rels/.rels', RELS), ('docProps/core.xml', core(title, author)),
                     ('word/document.xml', docx_xml(body, prolog))] + list(extra))


def good_docx(d):
    body = (para('Quarterly report', 'Title') + para('Introduction', 'Heading1') +
            para('The first paragraph talks about the harbour project.') +
            para('Apples', num=True) + para('Pears', num=True) +
            '<w:p><w:r><w:t>Run one</w:t></w:r><w:r><w:tab/><w:t>after a tab</w:t></w:r>'
            '<w:del><w:r><w:delText>deleted words</w:delText></w:r></w:del></w:p>' +
            '<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Cell A1</w:t></w:r></w:p></w:tc>'
            '<w:tc><w:p><w:r><w:t>Cell B1</w:t></w:r></w:p></w:tc></w:tr></w:tbl>' +
            para('Results', 'Heading2') + para('The last paragraph closes the report.'))
    docx(os.path.join(d, 'report.docx'), body)


def notes_docx(d):
    """A DOCX with a footnote, an endnote, a comment, and the same page header
    in three sections (plus a footer with a page-number field)."""
    def part(tag, inner):
        return f'<?xml version="1.0" encoding="UTF-8"?><w:{tag} {W}>{inner}</w:{tag}>'
    ref = '<w:r><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr><w:footnoteReference w:id="{}"/></w:r>'
    body = (para('Harbour survey', 'Heading1') +
            '<w:p><w:r><w:t>The quay is older than thought</w:t></w:r>' + ref.format(2) +
            '<w:r><w:t xml:space="preserve"> and needs repair.</w:t></w:r></w:p>' +
            '<w:p><w:r><w:t>Costs are rising</w:t></w:r><w:r><w:endnoteReference w:id="1"/></w:r>'
            '<w:r><w:t>.</w:t></w:r></w:p>' +
            '<w:p><w:r><w:t>A second claim</w:t></w:r>' + ref.format(3) + '</w:p>')
    sep = ('<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
           '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>')
    def note(tag, i, text):
        return (f'<w:{tag} w:id="{i}"><w:p><w:pPr><w:pStyle w:val="FootnoteText"/></w:pPr>'
                f'<w:r><w:{tag}Ref/></w:r><w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p></w:{tag}>')
    footnotes = part('footnotes', sep + note('footnote', 2, 'Dated by the 1820 harbour map.') +
                     note('footnote', 3, 'See the survey of 1998.') + note('footnote', 9, 'A note nobody cites.'))
    endnotes = part('endnotes', note('endnote', 1, 'Figures from the council budget.'))
    comments = part('comments', '<w:comment w:id="0" w:author="Grace"><w:p><w:r><w:t>Check the date.</w:t></w:r></w:p></w:comment>')
    header = part('hdr', para('Port Authority internal'))
    footer = part('ftr', '<w:p><w:r><w:t xml:space="preserve">Page </w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                  '<w:r><w:instrText> PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                  '<w:r><w:t>7</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>'
                  '<w:r><w:t xml:space="preserve"> of the survey</w:t></w:r></w:p>')
    docx(os.path.join(d, 'footnotes.docx'), body, title='Harbour survey',
         extra=[('word/footnotes.xml', footnotes), ('word/endnotes.xml', endnotes), ('word/comments.xml', comments),
                ('word/header1.xml', header), ('word/header2.xml', header), ('word/header3.xml', header),
                ('word/footer1.xml', footer)])


ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
          'xmlns:dc="http://purl.org/dc/elements/1.1/" '
          'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"')


def odf(path, mime, body, title, author, styles=None):
    meta = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {ODF_NS}><office:meta>'
            f'<dc:title>{title}</dc:title><meta:initial-creator>{author}</meta:initial-creator>'
            '<meta:creation-date>2024-05-01T08:00:00</meta:creation-date><dc:date>2024-05-02T08:00:00</dc:date>'
            '</office:meta></office:document-meta>')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS}>'
               f'<office:body>{body}</office:body></office:document-content>')
    extra = []
    if styles:
        extra = [('styles.xml', f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {ODF_NS} '
                  'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0">'
                  f'<office:master-styles>{styles}</office:master-styles></office:document-styles>')]
    write_zip(path, [('mimetype', mime), ('content.xml', content), ('meta.xml', meta),
                     ('META-INF/manifest.xml', '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')]
              + extra)


def good_odt(d):
    body = ('<office:text><text:h text:outline-level="1">Field notes</text:h>'
            '<text:p>We walked along the <text:span>river</text:span> bank.</text:p>'
            '<text:list><text:list-item><text:p>Herons</text:p></text:list-item>'
            '<text:list-item><text:p>Kingfishers</text:p></text:list-item></text:list>'
            '<text:h text:outline-level="2">Weather</text:h><text:p>Cold<text:tab/>and windy.</text:p>'
            '</office:text>')
    odf(os.path.join(d, 'notes.odt'), 'application/vnd.oasis.opendocument.text', body, 'Field notes', 'Grace Hopper')


def notes_odt(d):
    """An ODT with a footnote and an endnote, two master pages with the same
    header, and a footer holding a page number."""
    def note(i, cls, cit, text):
        return (f'<text:note text:id="n{i}" text:note-class="{cls}"><text:note-citation>{cit}</text:note-citation>'
                f'<text:note-body><text:p>{text}</text:p></text:note-body></text:note>')
    body = ('<office:text><text:h text:outline-level="1">River log</text:h>'
            '<text:p>The water rose' + note(1, 'footnote', '1', 'Measured at the old bridge.') + ' overnight.</text:p>'
            '<text:p>Boats were moved' + note(2, 'endnote', 'i', 'By the harbour crew.') + '.</text:p></office:text>')
    hdr = '<style:header><text:p>County water board</text:p></style:header>'
    styles = (f'<style:master-page style:name="Standard">{hdr}'
              '<style:footer><text:p>Page <text:page-number>3</text:page-number> of the log</text:p></style:footer>'
              f'</style:master-page><style:master-page style:name="First">{hdr}</style:master-page>')
    odf(os.path.join(d, 'footnotes.odt'), 'application/vnd.oasis.opendocument.text', body, 'River log', 'Grace Hopper',
        styles=styles)


def good_ods(d):
    body = ('<office:spreadsheet><table:table table:name="Budget">'
            '<table:table-row><table:table-cell office:value-type="string"><text:p>Item</text:p></table:table-cell>'
            '<table:table-cell office:value-type="string"><text:p>Cost</text:p></table:table-cell></table:table-row>'
            '<table:table-row><table:table-cell office:value-type="string"><text:p>Paint</text:p></table:table-cell>'
            '<table:table-cell table:formula="of:=2*21" office:value-type="float" office:value="42"><text:p>42</text:p></table:table-cell>'
            '<table:table-cell table:number-columns-repeated="1020"/></table:table-row>'
            '<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
            '</table:table></office:spreadsheet>')
    odf(os.path.join(d, 'budget.ods'), 'application/vnd.oasis.opendocument.spreadsheet', body, 'Budget', 'Grace Hopper')


def good_pptx(d):
    P = ('xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
         'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
    pres = (f'<?xml version="1.0"?><p:presentation {P}><p:sldIdLst>'
            '<p:sldId id="256" r:id="rId7"/><p:sldId id="257" r:id="rId2"/></p:sldIdLst></p:presentation>')
    rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId2" Target="slides/slide1.xml" Type="slide"/>'
            '<Relationship Id="rId7" Target="slides/slide2.xml" Type="slide"/></Relationships>')

    def slide(lines):
        ps = ''.join(f'<a:p><a:r><a:t>{t}</a:t></a:r></a:p>' for t in lines)
        return f'<?xml version="1.0"?><p:sld {P}><p:cSld><p:spTree><p:sp><p:txBody>{ps}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>'
    # slide2.xml is shown first (the presentation's order, not the file names')
    write_zip(os.path.join(d, 'deck.pptx'), [
        ('[Content_Types].xml', CT), ('docProps/core.xml', core('Launch plan', 'Alan Turing')),
        ('ppt/presentation.xml', pres), ('ppt/_rels/presentation.xml.rels', rels),
        ('ppt/slides/slide1.xml', slide(['Second slide', 'Budget and timeline'])),
        ('ppt/slides/slide2.xml', slide(['Opening slide', 'Why we launch']))])


def good_xlsx(d):
    S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    wb = f'<?xml version="1.0"?><workbook {S}><sheets><sheet name="Sales" sheetId="1" r:id="rId1"/><sheet name="Costs" sheetId="2" r:id="rId2"/></sheets></workbook>'
    rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Target="/xl/worksheets/sheet2.xml"/></Relationships>')
    sst = f'<?xml version="1.0"?><sst {S}><si><t>Region</t></si><si><t>Total</t></si><si><r><t>No</t></r><r><t>rth</t></r></si></sst>'
    s1 = (f'<?xml version="1.0"?><worksheet {S}><sheetData>'
          '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
          '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><f>SUM(C2:D2)</f><v>1234.5</v></c><c r="D2" t="inlineStr"><is><t>inline note</t></is></c></row>'
          '</sheetData></worksheet>')
    s2 = (f'<?xml version="1.0"?><worksheet {S}><sheetData>'
          '<row r="1"><c r="A1" t="str"><f>CONCAT("Rent","!")</f><v>Rent!</v></c><c r="B1" t="b"><v>1</v></c></row>'
          '</sheetData></worksheet>')
    write_zip(os.path.join(d, 'sales.xlsx'), [
        ('[Content_Types].xml', CT), ('docProps/core.xml', core('Sales 2024', 'Edsger Dijkstra')),
        ('xl/workbook.xml', wb), ('xl/_rels/workbook.xml.rels', rels), ('xl/sharedStrings.xml', sst),
        ('xl/worksheets/sheet1.xml', s1), ('xl/worksheets/sheet2.xml', s2)])


def epub(path, chapters, prolog=''):
    container = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                 '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
    items = ''.join(f'<item id="c{i}" href="text/ch{i}.xhtml" media-type="application/xhtml+xml"/>' for i in range(len(chapters)))
    # the spine reads the chapters in reverse file order: order must follow the spine
    spine = ''.join(f'<itemref idref="c{i}"/>' for i in reversed(range(len(chapters))))
    opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
           '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>The Lighthouse Keeper</dc:title>'
           '<dc:creator>Mary Shelley</dc:creator><dc:language>en</dc:language><dc:date>2020-01-01</dc:date></metadata>'
           f'<manifest>{items}</manifest><spine>{spine}</spine></package>')
    members = [('mimetype', 'application/epub+zip'), ('META-INF/container.xml', container), ('OEBPS/content.opf', opf)]
    for i, ch in enumerate(chapters):
        members.append((f'OEBPS/text/ch{i}.xhtml',
                        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>'
                        f'<style>p {{ color: red }}</style></head><body>{ch}</body></html>'))
    write_zip(path, members)


def good_epub(d):
    epub(os.path.join(d, 'book.epub'), [
        '<h1>Chapter Two</h1><p>The storm came at night.</p>',
        '<h1>Chapter One</h1><p>The keeper lit the   lamp.</p><ul><li>oil</li><li>wick</li></ul>'])


def good_rtf(d):
    rtf = (r'{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}{\colortbl;\red0\green0\blue0;}'
           r'{\stylesheet{\s0 Normal;}}{\info{\title Meeting about the budget}{\author Ada Lovelace}'
           r'{\creatim\yr2024\mo3\dy5\hr9\min30}}{\*\generator Writer;}'
           '\n' r'\pard\plain Meeting about the budget\par' '\n'
           r'We agreed on a caf\'e9 near the station\'85 and \u8364?20 for lunch.\par' '\n'
           r'{\pict\pngblip 89504e470d0a1a0a}Second line\line same paragraph\tab after tab.\par}')
    open(os.path.join(d, 'memo.rtf'), 'w').write(rtf)


EML = ('From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.com>\r\nCc: carol@example.net\r\n'
       'Date: Tue, 05 Mar 2024 10:00:00 +0100\r\nSubject: Harbour meeting minutes\r\n'
       'Message-ID: <minutes-42@example.org>\r\nMIME-Version: 1.0\r\n'
       'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
       '--XYZ\r\nContent-Type: multipart/alternative; boundary="ALT"\r\n\r\n'
       '--ALT\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
       'The meeting at the caf=E9 is moved to Friday.\r\n\r\n'
       '--ALT\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The meeting (html)</p>\r\n--ALT--\r\n'
       '--XYZ\r\nContent-Type: text/plain; name="agenda.txt"\r\nContent-Disposition: attachment; filename="agenda.txt"\r\n'
       'Content-Transfer-Encoding: base64\r\n\r\nQWdlbmRhIG9mIHRoZSBoYXJib3VyIG1lZXRpbmcuCkZpcnN0LCB0aGUgbmV3IGZlcnJ5IHRpbWV0YWJsZS4KVGhlbiB0aGUgbGlnaHRob3VzZSByZXBhaXJzLgo=\r\n'
       '--XYZ--\r\n')


def good_mail(d):
    open(os.path.join(d, 'minutes.eml'), 'w', newline='').write(EML)
    html = ('From: news@example.org\nTo: you@example.com\nSubject: Newsletter\nDate: Wed, 06 Mar 2024 08:00:00 +0000\n'
            'Message-ID: <n1@example.org>\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n'
            '<html><head><style>.x{}</style></head><body><h1>Spring news</h1><p>Tulips are <b>blooming</b>.</p></body></html>\n')
    open(os.path.join(d, 'news.eml'), 'w').write(html)
    box = ''
    for i in range(3):
        box += (f'From sender{i}@example.org Mon Jan  1 00:00:0{i} 2024\nFrom: sender{i}@example.org\nTo: list@example.org\n'
                f'Subject: Message number {i}\nDate: Mon, 01 Jan 2024 00:00:0{i} +0000\nMessage-ID: <m{i}@example.org>\n\n'
                f'Body of message {i}.\n>From the archive.\n\n')
    open(os.path.join(d, 'list.mbox'), 'w').write(box)


def good_table(d):
    rows = ['name,city,amount,date', '"Smith, John",Paris,12.50,2024-01-03', 'Ada,"New\nYork",7,2024-02-01']
    rows += [f'Person {i},Town {i % 7},{i * 1.5:.2f},2024-03-{i % 28 + 1:02d}' for i in range(40)]
    open(os.path.join(d, 'people.csv'), 'w').write('\n'.join(rows) + '\n')
    open(os.path.join(d, 'stock.tsv'), 'w').write('sku\tqty\nA-1\t5\nB-2\t9\n')
    open(os.path.join(d, 'semi.csv'), 'w').write('a;b;c\n1;2;3\n4;5;6\n')


# ---- hostile -------------------------------------------------------------

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + ''.join(f'<!ENTITY lol{i} "' + ('&lol%s;' % (i - 1 if i > 1 else '')) * 10 + '">' for i in range(1, 10))
          + ']>')
XXE = ('<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY net SYSTEM "http://127.0.0.1:9/evil.dtd">'
       '<!ENTITY % remote SYSTEM "http://127.0.0.1:9/remote.dtd"> %remote;]>')


def hostile(d):
    docx(os.path.join(d, 'laughs.docx'), para('before the bomb') + '<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>' + para('after the bomb'),
         prolog=LAUGHS)
    docx(os.path.join(d, 'xxe.docx'), para('secret: &xxe; and &net; end'), prolog=XXE)
    epub(os.path.join(d, 'laughs.epub'), ['<p>bomb &lol9; here</p>'], prolog=LAUGHS)
    epub(os.path.join(d, 'xxe.epub'), ['<p>leak &xxe; &net; done</p>'], prolog=XXE)
    # 300 MB of spaces inside one w:t: a few hundred kB zipped
    with zipfile.ZipFile(os.path.join(d, 'zipbomb.docx'), 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('[Content_Types].xml', CT)
        with z.open('word/document.xml', 'w') as f:
            f.write(docx_xml('<w:p><w:r><w:t>').split('<w:p>')[0].encode() + b'<w:p><w:r><w:t>')
            blk = b' ' * (1 << 20)
            for _ in range(300):
                f.write(blk)
            f.write(b'</w:t></w:r></w:p></w:body></w:document>')
    # an encrypted ZIP: a valid docx with the "encrypted" flag set on every member
    p = os.path.join(d, 'encrypted.docx')
    good = os.path.join(d, '.tmp.docx')
    docx(good, para('hidden'))
    b = bytearray(open(good, 'rb').read())
    os.remove(good)
    for sig, off in ((b'PK\x03\x04', 6), (b'PK\x01\x02', 8)):
        i = b.find(sig)
        while i >= 0:
            b[i + off] |= 1
            i = b.find(sig, i + 4)
    open(p, 'wb').write(bytes(b))
    # a password-protected DOCX as Office writes it: an OLE container with an EncryptedPackage
    ole = bytearray(b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + b'\0' * 1016)
    ole += 'EncryptedPackage'.encode('utf-16-le') + b'\0' * 2000
    open(os.path.join(d, 'protected.docx'), 'wb').write(bytes(ole))
    # ... and one whose directory (EncryptionInfo, EncryptedPackage) lies past the first 64 kB, as the
    # header says (sector size 512, directory at sector 200), under a name that says nothing
    hdr = bytearray(b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + b'\0' * 504)
    struct.pack_into('<HHHH', hdr, 0x18, 0x3E, 3, 0xFFFE, 9)
    struct.pack_into('<I', hdr, 0x30, 200)
    body = bytearray(b'\x5a' * (201 * 512 - 512))
    def entry(name):
        e = bytearray(128)
        u = name.encode('utf-16-le') + b'\0\0'
        e[:len(u)] = u
        struct.pack_into('<H', e, 64, len(u))
        return e
    dirsec = entry('Root Entry') + entry('EncryptionInfo') + entry('EncryptedPackage') + entry('\x06DataSpaces')
    open(os.path.join(d, 'locked-budget'), 'wb').write(bytes(hdr + body + dirsec + b'\0' * 4096))
    # member names that climb out or are absolute: listed, never used as paths
    docx(os.path.join(d, 'traversal.docx'), para('safe text'),
         extra=[('../../../../tmp/dossier-escape.txt', 'pwned'), ('/tmp/dossier-abs.txt', 'pwned')])
    # truncated archive
    docx(good, para('The whole text of a truncated document. ' * 2000))
    b = open(good, 'rb').read()
    os.remove(good)
    open(os.path.join(d, 'truncated.docx'), 'wb').write(b[:len(b) // 2])
    # one 20 MB paragraph
    with zipfile.ZipFile(os.path.join(d, 'bigpara.docx'), 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('[Content_Types].xml', CT)
        with z.open('word/document.xml', 'w') as f:
            f.write(f'<?xml version="1.0"?><w:document {W}><w:body><w:p>'.encode())
            run = b'<w:r><w:t xml:space="preserve">' + b'word ' * 2000 + b'</w:t></w:r>'
            for _ in range(20 * 1024 * 1024 // 10000 + 1):
                f.write(run)
            f.write(b'</w:p></w:body></w:document>')
    # malformed MIME: a multipart without a boundary, and 1,000 nested multiparts
    open(os.path.join(d, 'noboundary.eml'), 'w').write(
        'From: a@example.org\nSubject: No boundary\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\nJust some text.\n')
    nest = 'From: a@example.org\nSubject: Deep nesting\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b0"\n\n'
    for i in range(1000):
        nest += f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n'
    nest += '--b1000\nContent-Type: text/plain\n\nthe innermost text\n'
    for i in range(1000, -1, -1):
        nest += f'--b{i}--\n'
    open(os.path.join(d, 'nested.eml'), 'w').write(nest)


def many(d):
    """many-N.pptx, .epub and .xlsx: N slides, chapters or sheets, in an order that is not the
    archive's, for N = 600 and 1200 (reading them must cost linear time)."""
    P = ('xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
         'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
    for n in (600, 1200):
        ids = list(reversed(range(n)))   # the deck shows the last file first
        pres = (f'<?xml version="1.0"?><p:presentation {P}><p:sldIdLst>' +
                ''.join(f'<p:sldId id="{256 + k}" r:id="rId{i + 1}"/>' for k, i in enumerate(ids)) + '</p:sldIdLst></p:presentation>')
        rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
                ''.join(f'<Relationship Id="rId{i + 1}" Target="slides/slide{i + 1}.xml" Type="slide"/>' for i in range(n)) +
                '</Relationships>')
        write_zip(os.path.join(d, f'many-{n}.pptx'), [('[Content_Types].xml', CT), ('docProps/core.xml', core('Many', 'Bench')),
                                                     ('ppt/presentation.xml', pres), ('ppt/_rels/presentation.xml.rels', rels)] + [
            (f'ppt/slides/slide{i + 1}.xml', f'<?xml version="1.0"?><p:sld {P}><p:cSld><p:spTree><p:sp><p:txBody>'
             f'<a:p><a:r><a:t>slide file {i + 1}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>')
            for i in range(n)])
        epub(os.path.join(d, f'many-{n}.epub'), [f'<p>chapter file {i}</p>' for i in range(n)])
        S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
        wb = (f'<?xml version="1.0"?><workbook {S}><sheets>' +
              ''.join(f'<sheet name="S{i + 1}" sheetId="{k + 1}" r:id="rId{i + 1}"/>' for k, i in enumerate(ids)) + '</sheets></workbook>')
        rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
                ''.join(f'<Relationship Id="rId{i + 1}" Target="worksheets/sheet{i + 1}.xml"/>' for i in range(n)) + '</Relationships>')
        write_zip(os.path.join(d, f'many-{n}.xlsx'), [('[Content_Types].xml', CT), ('docProps/core.xml', core('Many', 'Bench')),
                                                     ('xl/workbook.xml', wb), ('xl/_rels/workbook.xml.rels', rels)] + [
            (f'xl/worksheets/sheet{i + 1}.xml', f'<?xml version="1.0"?><worksheet {S}><sheetData><row r="1">'
             f'<c r="A1" t="inlineStr"><is><t>sheet file {i + 1}</t></is></c></row></sheetData></worksheet>') for i in range(n)])


def big(d, mb):
    n = mb * 1024 * 1024
    words = 'the harbour project moved forward again with new cranes and quays '
    body = []
    size = 0
    i = 0
    while size < n:
        t = f'Paragraph {i}: ' + words * 8
        body.append(t)
        size += len(t) + 1
        i += 1
    docx(os.path.join(d, 'big.docx'), ''.join(para(t) for t in body))
    odf(os.path.join(d, 'big.odt'), 'application/vnd.oasis.opendocument.text',
        '<office:text>' + ''.join(f'<text:p>{t}</text:p>' for t in body) + '</office:text>', 'Big', 'Bench')
    open(os.path.join(d, 'big.rtf'), 'w').write(r'{\rtf1\ansi{\fonttbl{\f0 Arial;}}' + ''.join(
        r'\pard ' + t.replace('harbour', r'harb\'f6ur') + r'\par' + '\n' for t in body) + '}')
    open(os.path.join(d, 'big.eml'), 'w').write('From: a@example.org\nSubject: Big\nContent-Type: text/plain\n\n' +
                                                '\n\n'.join(body) + '\n')
    # the other formats, with the same paragraphs: chapters, slides, sheet rows, CSV rows, messages
    epub(os.path.join(d, 'big.epub'), [''.join(f'<p>{t}</p>' for t in body[k:k + 200]) for k in range(0, len(body), 200)])
    P = ('xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
         'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
    slides = [body[k:k + 20] for k in range(0, len(body), 20)]
    pres = (f'<?xml version="1.0"?><p:presentation {P}><p:sldIdLst>' +
            ''.join(f'<p:sldId id="{256 + i}" r:id="rId{i + 1}"/>' for i in range(len(slides))) + '</p:sldIdLst></p:presentation>')
    rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
            ''.join(f'<Relationship Id="rId{i + 1}" Target="slides/slide{i + 1}.xml" Type="slide"/>' for i in range(len(slides))) +
            '</Relationships>')
    write_zip(os.path.join(d, 'big.pptx'), [('[Content_Types].xml', CT), ('docProps/core.xml', core('Big', 'Bench')),
                                            ('ppt/presentation.xml', pres), ('ppt/_rels/presentation.xml.rels', rels)] + [
        (f'ppt/slides/slide{i + 1}.xml', f'<?xml version="1.0"?><p:sld {P}><p:cSld><p:spTree><p:sp><p:txBody>' +
         ''.join(f'<a:p><a:r><a:t>{t}</a:t></a:r></a:p>' for t in sl) + '</p:txBody></p:sp></p:spTree></p:cSld></p:sld>')
        for i, sl in enumerate(slides)])
    S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    write_zip(os.path.join(d, 'big.xlsx'), [
        ('[Content_Types].xml', CT), ('docProps/core.xml', core('Big', 'Bench')),
        ('xl/workbook.xml', f'<?xml version="1.0"?><workbook {S}><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        ('xl/_rels/workbook.xml.rels', '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                                       '<Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>'),
        ('xl/worksheets/sheet1.xml', f'<?xml version="1.0"?><worksheet {S}><sheetData>' +
         ''.join(f'<row r="{i + 1}"><c r="A{i + 1}"><v>{i}</v></c><c r="B{i + 1}" t="inlineStr"><is><t>{t}</t></is></c></row>'
                 for i, t in enumerate(body)) + '</sheetData></worksheet>')])
    odf(os.path.join(d, 'big.ods'), 'application/vnd.oasis.opendocument.spreadsheet',
        '<office:spreadsheet><table:table table:name="Data">' + ''.join(
            f'<table:table-row><table:table-cell office:value-type="float" office:value="{i}"><text:p>{i}</text:p></table:table-cell>'
            f'<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell></table:table-row>'
            for i, t in enumerate(body)) + '</table:table></office:spreadsheet>', 'Big', 'Bench')
    with open(os.path.join(d, 'big.csv'), 'w') as f:
        f.write('id,place,note\n')
        for i, t in enumerate(body):
            f.write(f'{i},Harbour {i % 17},"{t}"\n')
    with open(os.path.join(d, 'big.mbox'), 'w') as f:
        for k in range(0, len(body), 10):
            f.write(f'From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: Part {k}\n'
                    'Content-Type: text/plain\n\n' + '\n\n'.join(body[k:k + 10]) + '\n\n')


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    if len(sys.argv) > 3 and sys.argv[2] == '--big':
        big(d, int(sys.argv[3]))
        return
    groups = {'office': (good_docx, notes_docx, notes_odt, good_odt, good_ods, good_pptx, good_xlsx, good_epub), 'rtf': (good_rtf,),
              'mail': (good_mail,), 'table': (good_table,), 'hostile': (hostile,), 'many': (many,)}
    for g in (sys.argv[2:] or [g for g in groups if g != 'many']):  # 'many' only when asked
        for f in groups[g]:
            f(d)


if __name__ == '__main__':
    main()
