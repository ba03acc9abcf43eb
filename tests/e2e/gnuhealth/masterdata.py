"""Master data a kiosk registration needs in a fresh GNU Health database.

Run with the GNU Health venv's interpreter (it imports trytond, which the kiosk
venv does not have): `python masterdata.py TRYTOND_CONF DBNAME`. Written once
per cached database build (see conftest.py), never at test time.
"""

import sys

HOSPITAL = "Bệnh viện Đa khoa Minh An (mô phỏng)"
INSTITUTION_CODE = "MINHAN"
INSURER = "Bảo hiểm xã hội Việt Nam"
# (code, family, given, gender, specialty code): one doctor per kiosk department
DOCTORS = [
    ("BS-NOI", "Nguyễn", "Thị Hoa", "f", "INTERNAL"),
    ("BS-NGOAI", "Lê", "Văn Đức", "m", "GENERALSURG"),
    ("BS-NHI", "Phạm", "Thu Hương", "f", "PEDIATRICS"),
]


def main(conf: str, database: str) -> None:
    from trytond.config import config

    config.update_etc(conf)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    Pool.start()
    pool = Pool(database)
    pool.init()
    # The federation config is a singleton: Tryton locks its table on create.
    with Transaction().start(database, 0, context={"active_test": False},
                             _lock_tables=["gnuhealth_federation_country_config"]
                             ) as transaction:
        currency, = pool.get("currency.currency").create([{
            "name": "Việt Nam Đồng", "code": "VND", "symbol": "₫", "rounding": 1,
            "digits": 0}])
        country, = pool.get("country.country").create([{
            "name": "Việt Nam", "code": "VN", "code3": "VNM", "code_numeric": "704"}])
        fed = pool.get("gnuhealth.federation.country.config")(1)
        fed.country = country
        fed.save()
        Party = pool.get("party.party")
        hospital, = Party.create([{"name": HOSPITAL, "is_institution": True,
                                   "fed_country": "VNM"}])
        company, = pool.get("company.company").create([{"party": hospital.id,
                                                        "currency": currency.id}])
        User = pool.get("res.user")
        admin, = User.search([("login", "=", "admin")])
        User.write([admin], {"companies": [("add", [company.id])], "company": company.id})
        institution, = pool.get("gnuhealth.institution").create([{
            "party": hospital.id, "code": INSTITUTION_CODE, "institution_type": "hospital",
            "public_level": "public"}])
        Party.create([{"name": INSURER, "is_insurance_company": True, "fed_country": "VNM"}])
        Specialty = pool.get("gnuhealth.specialty")
        HealthProf = pool.get("gnuhealth.healthprofessional")
        HpSpecialty = pool.get("gnuhealth.hp_specialty")
        for code, family, given, gender, specialty_code in DOCTORS:
            party, = Party.create([{"name": given, "lastname": family, "is_person": True,
                                    "is_healthprof": True, "fed_country": "VNM", "gender": gender,
                                    "name_representation": "fg", "create_target": False}])
            prof, = HealthProf.create([{"party": party.id, "code": code,
                                        "institution": institution.id}])
            specialty, = Specialty.search([("code", "=", specialty_code)])
            # main_specialty is computed from the `mainsp` flag
            HpSpecialty.create([{"healthprof": prof.id, "mainsp": True,
                                 "specialty": specialty.id}])
        transaction.commit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
